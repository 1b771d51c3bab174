"""Grouped bar charts as SVG, written by hand (no plotting library on the
machines that run the benchmarks).

One chart is a list of panels stacked vertically; a panel is a set of
groups (workloads) with one bar per series (engines), on a log-scale
value axis because the values span several decades (native to an
interpreter to a software KVM). A series may be hatched (used to mark
figures that must not be mistaken for what their name suggests, such as a
software-implemented KVM); a missing value is drawn as a short grey stub
with its reason written along it, so a failed run is visible rather than
absent. A dashed line marks a panel's reference value (1x: native).

Standard library only.
"""
import math
from xml.sax.saxutils import escape

FONT = "font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\""


class Series:
    def __init__(self, key, label, color, hatched=False):
        self.key = key
        self.label = label
        self.color = color
        self.hatched = hatched


class Panel:
    """groups: [(key, label)]; values: {(group key, series key): float or
    str (the reason there is no value)}; fmt(v) labels a bar; ref: the
    value to draw a dashed reference line at, or None."""

    def __init__(self, title, ylabel, groups, values, fmt, ref=None):
        self.title = title
        self.ylabel = ylabel
        self.groups = groups
        self.values = values
        self.fmt = fmt
        self.ref = ref


def _decades(vals, ref):
    nums = [v[1] if isinstance(v, tuple) else v for v in vals]
    nums = [v for v in nums if isinstance(v, (int, float)) and v > 0]
    if ref:
        nums.append(ref)
    if not nums:
        return 0, 1
    lo = math.floor(math.log10(min(nums)))
    top = math.log10(max(nums))
    hi = max(math.ceil(top + 1e-9), lo + 1)
    if hi - top < 0.25 * (hi - lo):  # room above the tallest bar for its label
        hi += 1
    return lo, hi


def _tick_label(exp, unit):
    v = 10.0 ** exp
    if unit == "x":
        txt = "{:,.0f}".format(v) if v >= 1 else ("%g" % v) if v >= 0.001 else "1e%d" % exp
        return txt + "\u00d7"
    if v >= 1:
        return "%g s" % v
    if v >= 1e-3:
        return "%g ms" % (v * 1e3)
    return "%g \u00b5s" % (v * 1e6)


def write(path, title, subtitle, series, panels, unit_of_panel):
    """Write the chart; unit_of_panel[i] is "x" (ratio) or "s" (seconds). A
    value may be a number, a (prefix, number) lower bound, or a string (the
    reason there is none)."""
    bar_w, bar_gap, group_gap = 18, 2, 34
    left, right, top = 78, 20, 58
    plot_h, panel_gap, label_h = 300, 24, 44
    n_series = len(series)
    group_w = n_series * (bar_w + bar_gap) - bar_gap
    max_groups = max([len(p.groups) for p in panels] + [1])
    plot_w = max(max_groups * (group_w + group_gap) + group_gap, 680)
    n_legend = n_series + 1  # and the native reference line
    legend_h = 18 * ((n_legend + 1) // 2) + 10
    width = left + plot_w + right
    height = top + legend_h + len(panels) * (24 + plot_h + label_h + panel_gap)
    out = []
    o = out.append
    o('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">' % (width, height,
                                                                                            width, height))
    o('<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
      'patternTransform="rotate(45)"><rect width="6" height="6" fill="white" fill-opacity="0.0"/>'
      '<line x1="0" y1="0" x2="0" y2="6" stroke="white" stroke-width="2.5"/></pattern></defs>')
    o('<rect width="100%" height="100%" fill="white"/>')
    o('<text x="%d" y="22" %s font-size="16" font-weight="bold">%s</text>' % (left, FONT, escape(title)))
    o('<text x="%d" y="40" %s font-size="11" fill="#444">%s</text>' % (left, FONT, escape(subtitle)))

    # Legend, two columns.
    col_w = plot_w // 2
    for k, s in enumerate(series):
        x = left + (k % 2) * col_w
        y = top + 18 * (k // 2)
        o('<rect x="%d" y="%d" width="14" height="12" fill="%s" stroke="#333" stroke-width="0.5"/>' % (x, y,
                                                                                                        s.color))
        if s.hatched:
            o('<rect x="%d" y="%d" width="14" height="12" fill="url(#hatch)"/>' % (x, y))
        o('<text x="%d" y="%d" %s font-size="12">%s</text>' % (x + 20, y + 10, FONT, escape(s.label)))
    x, y = left + (n_series % 2) * col_w, top + 18 * (n_series // 2)
    o('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555" stroke-dasharray="5,4"/>' % (x, y + 6, x + 14, y + 6))
    o('<text x="%d" y="%d" %s font-size="12">native (the host CPU running the same code)</text>' % (x + 20, y + 10,
                                                                                                  FONT))

    y0 = top + legend_h
    for p_idx, panel in enumerate(panels):
        unit = unit_of_panel[p_idx]
        o('<text x="%d" y="%d" %s font-size="13" font-weight="bold">%s</text>' % (left, y0 + 14, FONT,
                                                                                  escape(panel.title)))
        py = y0 + 24  # top of the plot area
        lo, hi = _decades(list(panel.values.values()), panel.ref)

        def ypos(v):
            v = max(v, 10.0 ** lo)
            return py + plot_h - (math.log10(v) - lo) / (hi - lo) * plot_h

        # Axis, decade grid lines and their labels.
        for e in range(lo, hi + 1):
            y = ypos(10.0 ** e)
            o('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (left, y, left + plot_w, y))
            o('<text x="%d" y="%.1f" %s font-size="11" text-anchor="end">%s</text>' % (left - 6, y + 4, FONT,
                                                                                      _tick_label(e, unit)))
        o('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>' % (left, py, left, py + plot_h))
        o('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>' % (left, py + plot_h, left + plot_w,
                                                                      py + plot_h))
        o('<text transform="translate(%d,%d) rotate(-90)" %s font-size="12" text-anchor="middle">%s</text>'
          % (16, py + plot_h // 2, FONT, escape(panel.ylabel)))
        if panel.ref:
            y = ypos(panel.ref)
            o('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#555" stroke-dasharray="5,4"/>' % (
                left, y, left + plot_w, y))

        for g_idx, (gkey, glabel) in enumerate(panel.groups):
            gx = left + group_gap + g_idx * (group_w + group_gap)
            for s_idx, s in enumerate(series):
                x = gx + s_idx * (bar_w + bar_gap)
                v = panel.values.get((gkey, s.key))
                if isinstance(v, tuple) and v[1] > 0:
                    # A lower bound (the run timed out): a dashed open bar.
                    y = ypos(v[1])
                    h = py + plot_h - y
                    o('<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="%s" fill-opacity="0.35" stroke="%s" '
                      'stroke-dasharray="3,2"><title>%s, %s: %s%s (timed out)</title></rect>'
                      % (x, y, bar_w, max(h, 1), s.color, s.color, escape(glabel), escape(s.label), v[0],
                         escape(panel.fmt(v[1]))))
                    o('<text transform="translate(%.1f,%.1f) rotate(-90)" %s font-size="10">%s%s timeout</text>'
                      % (x + bar_w / 2 + 3.5, y - 3, FONT, v[0], escape(panel.fmt(v[1]))))
                elif isinstance(v, (int, float)) and v > 0:
                    y = ypos(v)
                    h = py + plot_h - y
                    o('<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="%s" stroke="#333" stroke-width="0.5">'
                      '<title>%s, %s: %s</title></rect>' % (x, y, bar_w, max(h, 1), s.color, escape(glabel),
                                                           escape(s.label), escape(panel.fmt(v))))
                    if s.hatched:
                        o('<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="url(#hatch)"/>' % (x, y, bar_w,
                                                                                                 max(h, 1)))
                    o('<text transform="translate(%.1f,%.1f) rotate(-90)" %s font-size="10">%s</text>'
                      % (x + bar_w / 2 + 3.5, y - 3, FONT, escape(panel.fmt(v))))
                elif v is not None:
                    # No value: a stub and the reason, so the gap is explained.
                    o('<rect x="%d" y="%d" width="%d" height="4" fill="#bbb"/>' % (x, py + plot_h - 4, bar_w))
                    o('<text transform="translate(%.1f,%d) rotate(-90)" %s font-size="10" fill="#a00">%s</text>'
                      % (x + bar_w / 2 + 3.5, py + plot_h - 8, FONT, escape(str(v)[:28])))
            # "name: what it is" on two lines, the name in bold.
            name, _, what = glabel.partition(": ")
            o('<text x="%.1f" y="%d" %s font-size="12" font-weight="bold" text-anchor="middle">%s</text>' % (
                gx + group_w / 2, py + plot_h + 16, FONT, escape(name)))
            if what:
                o('<text x="%.1f" y="%d" %s font-size="11" text-anchor="middle">%s</text>' % (
                    gx + group_w / 2, py + plot_h + 30, FONT, escape(what)))
        y0 = py + plot_h + label_h + panel_gap
    o('</svg>')
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
