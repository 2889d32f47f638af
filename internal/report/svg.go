package report

// Generic building blocks for self-contained HTML reports: charts drawn as
// inline SVG by Go (no scripts, no fonts or styles fetched from anywhere),
// HTML tables, and a page shell with its CSS. Reports compose them:
//
//	page := Page{Title: "…", Subtitle: "…"}
//	page.Add("Latency", LineChart{…}.HTML(), Table{…}.HTML())
//	err := page.Write(w)
//
// Every method returns HTML that is safe by construction: all text passed
// in (titles, labels, cells, tooltips) is escaped here. Pages are built with
// plain string building, not html/template: its Execute makes the linker
// keep every exported method of every reachable type (≈13 MB of binary).

import (
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
)

// Palette is the default series colour cycle (colour-blind safe, Okabe–Ito).
var Palette = []string{"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"}

// SeriesStyle says how a Series is drawn.
type SeriesStyle int

// Series styles.
const (
	StyleLine    SeriesStyle = iota // a polyline; a NaN Y breaks it
	StyleScatter                    // one dot per point
	StyleBand                       // a filled band between Y0 and Y (e.g. min–max)
	StyleStep                       // a step line, for rates per interval
)

// XY is one point. Y0 is the band's lower edge (StyleBand only).
type XY struct{ X, Y, Y0 float64 }

// Series is one named set of points.
type Series struct {
	Name   string
	Color  string // CSS colour; "" takes the next one from Palette
	Style  SeriesStyle
	Points []XY
}

// Marker is a vertical mark at X across the plot, e.g. a loss event; Label
// becomes its tooltip.
type Marker struct {
	X     float64
	Label string
	Color string // "" is red
}

// LineChart is an x/y chart: lines, dots, bands and markers over shared
// axes with "nice" ticks. The zero size is 760×260 px.
type LineChart struct {
	Title          string
	XLabel, YLabel string
	Width, Height  int
	Series         []Series
	Markers        []Marker
	// YFromZero starts the y axis at 0 instead of the data's minimum.
	YFromZero bool
}

// chart geometry shared by the chart types.
type frame struct {
	w, h                  float64
	left, right, top, bot float64
	x0, x1, y0, y1        float64
}

func newFrame(width, height int) frame {
	if width <= 0 {
		width = 760
	}
	if height <= 0 {
		height = 260
	}
	return frame{w: float64(width), h: float64(height), left: 64, right: 16, top: 30, bot: 44}
}

func (f frame) px(x float64) float64 {
	if f.x1 == f.x0 {
		return f.left
	}
	return f.left + (x-f.x0)/(f.x1-f.x0)*(f.w-f.left-f.right)
}

func (f frame) py(y float64) float64 {
	if f.y1 == f.y0 {
		return f.h - f.bot
	}
	return f.h - f.bot - (y-f.y0)/(f.y1-f.y0)*(f.h-f.top-f.bot)
}

// NiceTicks returns about n round tick values (1, 2 or 5 × 10^k steps)
// covering [lo, hi], and the widened range they span.
func NiceTicks(lo, hi float64, n int) (ticks []float64, tlo, thi float64) {
	if n < 2 {
		n = 2
	}
	if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		lo, hi = 0, 1
	}
	if hi < lo {
		lo, hi = hi, lo
	}
	if hi == lo {
		if lo == 0 {
			hi = 1
		} else {
			lo, hi = lo-math.Abs(lo)*0.1, hi+math.Abs(hi)*0.1
		}
	}
	raw := (hi - lo) / float64(n-1)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	tlo = math.Floor(lo/step) * step
	thi = math.Ceil(hi/step) * step
	// Round each tick to the step's decimals so labels read 0.2, not
	// 0.20000000000000004.
	dec := max(0, int(-math.Floor(math.Log10(step)))+1)
	for k := 0; k < 100; k++ {
		v := tlo + float64(k)*step
		if v > thi+step/2 {
			break
		}
		r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', dec, 64), 64)
		ticks = append(ticks, r)
	}
	return ticks, tlo, thi
}

// FormatTick renders a tick value compactly ("0.25", "1.5k", "2M").
func FormatTick(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return trimFloat(v/1e9) + "G"
	case a >= 1e6:
		return trimFloat(v/1e6) + "M"
	case a >= 1e4:
		return trimFloat(v/1e3) + "k"
	}
	return trimFloat(v)
}

func trimFloat(v float64) string {
	s := strconv.FormatFloat(v, 'g', 4, 64)
	if s == "-0" {
		s = "0"
	}
	return s
}

// HTML is a fragment of markup that is safe to embed as it is.
type HTML string

func esc(s string) string { return html.EscapeString(s) }

func (f frame) open(b *strings.Builder, title string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="%s">`,
		f.w, f.h, f.w, f.h, esc(title))
	fmt.Fprintf(b, `<rect x="0" y="0" width="%.0f" height="%.0f" fill="#fff"/>`, f.w, f.h)
	if title != "" {
		fmt.Fprintf(b, `<text x="%.0f" y="18" class="title">%s</text>`, f.left, esc(title))
	}
}

// axes draws grid lines, tick labels and axis titles.
func (f frame) axes(b *strings.Builder, xt, yt []float64, xlabel, ylabel string, xtickLabels func(float64) string) {
	for _, y := range yt {
		py := f.py(y)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="grid"/>`, f.left, py, f.w-f.right, py)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" class="tick" text-anchor="end">%s</text>`, f.left-6, py+4, esc(FormatTick(y)))
	}
	if xtickLabels == nil {
		xtickLabels = FormatTick
	}
	for _, x := range xt {
		px := f.px(x)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="grid"/>`, px, f.top, px, f.h-f.bot)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" class="tick" text-anchor="middle">%s</text>`, px, f.h-f.bot+16, esc(xtickLabels(x)))
	}
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="axis"/>`, f.left, f.h-f.bot, f.w-f.right, f.h-f.bot)
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="axis"/>`, f.left, f.top, f.left, f.h-f.bot)
	if xlabel != "" {
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" class="label" text-anchor="middle">%s</text>`, (f.left+f.w-f.right)/2, f.h-6, esc(xlabel))
	}
	if ylabel != "" {
		fmt.Fprintf(b, `<text x="14" y="%.1f" class="label" text-anchor="middle" transform="rotate(-90 14 %.1f)">%s</text>`,
			(f.top+f.h-f.bot)/2, (f.top+f.h-f.bot)/2, esc(ylabel))
	}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// HTML renders the chart as an inline <svg> element.
func (c LineChart) HTML() HTML {
	f := newFrame(c.Width, c.Height)
	xlo, xhi, ylo, yhi := c.bounds()
	xt, xa, xb := NiceTicks(xlo, xhi, 8)
	yt, ya, yb := NiceTicks(ylo, yhi, 5)
	f.x0, f.x1, f.y0, f.y1 = xa, xb, ya, yb

	var b strings.Builder
	f.open(&b, c.Title)
	f.axes(&b, xt, yt, c.XLabel, c.YLabel, nil)
	c.drawMarkers(&b, f)
	for i, s := range c.Series {
		col := s.Color
		if col == "" {
			col = Palette[i%len(Palette)]
		}
		switch s.Style {
		case StyleBand:
			drawBand(&b, f, s, col)
		case StyleScatter:
			drawScatter(&b, f, s, col)
		default:
			drawLine(&b, f, s, col)
		}
	}
	legend(&b, f, c.Series)
	b.WriteString(`</svg>`)
	return HTML(b.String())
}

// bounds is the data's range over every finite point and marker.
func (c LineChart) bounds() (xlo, xhi, ylo, yhi float64) {
	xlo, xhi, ylo, yhi = math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for _, p := range s.Points {
			if !finite(p.X) || !finite(p.Y) {
				continue
			}
			xlo, xhi = math.Min(xlo, p.X), math.Max(xhi, p.X)
			ylo, yhi = math.Min(ylo, p.Y), math.Max(yhi, p.Y)
			if s.Style == StyleBand && finite(p.Y0) {
				ylo = math.Min(ylo, p.Y0)
			}
		}
	}
	for _, m := range c.Markers {
		if finite(m.X) {
			xlo, xhi = math.Min(xlo, m.X), math.Max(xhi, m.X)
		}
	}
	if math.IsInf(xlo, 1) {
		xlo, xhi = 0, 1
	}
	if math.IsInf(ylo, 1) {
		ylo, yhi = 0, 1
	}
	if c.YFromZero && ylo > 0 {
		ylo = 0
	}
	return xlo, xhi, ylo, yhi
}

func (c LineChart) drawMarkers(b *strings.Builder, f frame) {
	for _, m := range c.Markers {
		col := m.Color
		if col == "" {
			col = "#d62728"
		}
		px := f.px(m.X)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1" opacity="0.55"><title>%s</title></line>`,
			px, f.top, px, f.h-f.bot, esc(col), esc(m.Label))
		fmt.Fprintf(b, `<path d="M%.1f %.1f l-4 -7 h8 z" fill="%s" class="marker"><title>%s</title></path>`, px, f.top+7, esc(col), esc(m.Label))
	}
}

// drawBand fills the area between Y0 and Y.
func drawBand(b *strings.Builder, f frame, s Series, col string) {
	var up, down []string
	for _, p := range s.Points {
		if !finite(p.X) || !finite(p.Y) || !finite(p.Y0) {
			continue
		}
		up = append(up, fmt.Sprintf("%.1f,%.1f", f.px(p.X), f.py(p.Y)))
		down = append(down, fmt.Sprintf("%.1f,%.1f", f.px(p.X), f.py(p.Y0)))
	}
	for l, r := 0, len(down)-1; l < r; l, r = l+1, r-1 {
		down[l], down[r] = down[r], down[l]
	}
	if len(up) > 0 {
		fmt.Fprintf(b, `<polygon points="%s %s" fill="%s" opacity="0.22" stroke="none"><title>%s</title></polygon>`,
			strings.Join(up, " "), strings.Join(down, " "), esc(col), esc(s.Name))
	}
}

func drawScatter(b *strings.Builder, f frame, s Series, col string) {
	fmt.Fprintf(b, `<g fill="%s"><title>%s</title>`, esc(col), esc(s.Name))
	for _, p := range s.Points {
		if finite(p.X) && finite(p.Y) {
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="2"/>`, f.px(p.X), f.py(p.Y))
		}
	}
	b.WriteString(`</g>`)
}

// drawLine draws a polyline (or steps); a non-finite point lifts the pen.
func drawLine(b *strings.Builder, f frame, s Series, col string) {
	var d strings.Builder
	pen := false
	var lastY float64
	for _, p := range s.Points {
		if !finite(p.X) || !finite(p.Y) {
			pen = false
			continue
		}
		x, y := f.px(p.X), f.py(p.Y)
		switch {
		case !pen:
			fmt.Fprintf(&d, "M%.1f %.1f", x, y)
		case s.Style == StyleStep:
			fmt.Fprintf(&d, "L%.1f %.1fL%.1f %.1f", x, lastY, x, y)
		default:
			fmt.Fprintf(&d, "L%.1f %.1f", x, y)
		}
		pen, lastY = true, y
	}
	if d.Len() > 0 {
		fmt.Fprintf(b, `<path d="%s" fill="none" stroke="%s" stroke-width="1.6" stroke-linejoin="round"><title>%s</title></path>`,
			d.String(), esc(col), esc(s.Name))
	}
}

// legend lists named series at the top right, each swatch drawn as its
// series is: a translucent box for a band, a stroke for a line, a dot for a
// scatter, so a band and a line of one colour stay told apart.
func legend(b *strings.Builder, f frame, ss []Series) {
	x := f.w - f.right
	for i := len(ss) - 1; i >= 0; i-- {
		s := ss[i]
		if s.Name == "" {
			continue
		}
		col := s.Color
		if col == "" {
			col = Palette[i%len(Palette)]
		}
		w := float64(len(s.Name))*6.5 + 22
		x -= w
		switch s.Style {
		case StyleBand:
			fmt.Fprintf(b, `<rect x="%.1f" y="9" width="12" height="10" fill="%s" opacity="0.22"/>`, x, esc(col))
		case StyleScatter:
			fmt.Fprintf(b, `<circle cx="%.1f" cy="14" r="3" fill="%s"/>`, x+6, esc(col))
		default:
			fmt.Fprintf(b, `<line x1="%.1f" y1="14" x2="%.1f" y2="14" stroke="%s" stroke-width="2"/>`, x, x+12, esc(col))
		}
		fmt.Fprintf(b, `<text x="%.1f" y="18" class="legend">%s</text>`, x+16, esc(s.Name))
	}
}

// Bar is one bar of a BarChart.
type Bar struct {
	Label string  // category label under the bar
	Value float64 // height
	Title string  // tooltip; "" uses Label and Value
	Color string  // "" uses the chart's colour
}

// BarChart draws one bar per category.
type BarChart struct {
	Title          string
	XLabel, YLabel string
	Width, Height  int
	Color          string // "" is Palette[0]
	Bars           []Bar
}

// HTML renders the chart as an inline <svg> element.
func (c BarChart) HTML() HTML {
	f := newFrame(c.Width, c.Height)
	hi := 0.0
	for _, b := range c.Bars {
		if finite(b.Value) {
			hi = math.Max(hi, b.Value)
		}
	}
	yt, ya, yb := NiceTicks(0, hi, 5)
	f.x0, f.x1, f.y0, f.y1 = 0, float64(max(len(c.Bars), 1)), ya, yb
	var b strings.Builder
	f.open(&b, c.Title)
	f.axes(&b, nil, yt, c.XLabel, c.YLabel, nil)
	slot := (f.w - f.left - f.right) / float64(max(len(c.Bars), 1))
	every := max(1, int(math.Ceil(float64(len(c.Bars))*40/(f.w-f.left-f.right))))
	for i, bar := range c.Bars {
		col := firstNonEmpty(bar.Color, c.Color, Palette[0])
		v := bar.Value
		if !finite(v) {
			v = 0
		}
		x := f.left + float64(i)*slot + slot*0.1
		y := f.py(v)
		tip := bar.Title
		if tip == "" {
			tip = bar.Label + ": " + FormatTick(bar.Value)
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s</title></rect>`,
			x, y, math.Max(slot*0.8, 1), math.Max(f.h-f.bot-y, 0), esc(col), esc(tip))
		if i%every == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="tick" text-anchor="middle">%s</text>`, x+slot*0.4, f.h-f.bot+16, esc(bar.Label))
		}
	}
	b.WriteString(`</svg>`)
	return HTML(b.String())
}

// HistBin is one bin of a Histogram: Count values in [Lo, Hi).
type HistBin struct{ Lo, Hi, Count float64 }

// Histogram draws contiguous bins on a numeric x axis.
type Histogram struct {
	Title          string
	XLabel, YLabel string
	Width, Height  int
	Color          string // "" is Palette[0]
	Bins           []HistBin
}

// HTML renders the histogram as an inline <svg> element.
func (c Histogram) HTML() HTML {
	f := newFrame(c.Width, c.Height)
	xlo, xhi, hi := math.Inf(1), math.Inf(-1), 0.0
	for _, bn := range c.Bins {
		if finite(bn.Lo) && finite(bn.Hi) && finite(bn.Count) {
			xlo, xhi, hi = math.Min(xlo, bn.Lo), math.Max(xhi, bn.Hi), math.Max(hi, bn.Count)
		}
	}
	if math.IsInf(xlo, 1) {
		xlo, xhi = 0, 1
	}
	xt, xa, xb := NiceTicks(xlo, xhi, 8)
	yt, ya, yb := NiceTicks(0, hi, 5)
	f.x0, f.x1, f.y0, f.y1 = xa, xb, ya, yb
	var b strings.Builder
	f.open(&b, c.Title)
	f.axes(&b, xt, yt, c.XLabel, c.YLabel, nil)
	col := firstNonEmpty(c.Color, Palette[0])
	for _, bn := range c.Bins {
		if !finite(bn.Lo) || !finite(bn.Hi) || !finite(bn.Count) || bn.Count <= 0 {
			continue
		}
		x0, x1, y := f.px(bn.Lo), f.px(bn.Hi), f.py(bn.Count)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" stroke="#fff" stroke-width="0.5"><title>%s–%s: %s</title></rect>`,
			x0, y, math.Max(x1-x0, 1), math.Max(f.h-f.bot-y, 0), esc(col), esc(FormatTick(bn.Lo)), esc(FormatTick(bn.Hi)), esc(FormatTick(bn.Count)))
	}
	b.WriteString(`</svg>`)
	return HTML(b.String())
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// Table is an HTML table; cells that parse as numbers are right-aligned.
type Table struct {
	Caption string
	Header  []string
	Rows    [][]string
}

// HTML renders the table.
func (t Table) HTML() HTML {
	var b strings.Builder
	b.WriteString(`<table>`)
	if t.Caption != "" {
		fmt.Fprintf(&b, `<caption>%s</caption>`, esc(t.Caption))
	}
	if len(t.Header) > 0 {
		b.WriteString(`<thead><tr>`)
		for _, h := range t.Header {
			fmt.Fprintf(&b, `<th>%s</th>`, esc(h))
		}
		b.WriteString(`</tr></thead>`)
	}
	b.WriteString(`<tbody>`)
	for _, r := range t.Rows {
		b.WriteString(`<tr>`)
		for _, c := range r {
			if numeric(c) {
				fmt.Fprintf(&b, `<td class="num">%s</td>`, esc(c))
			} else {
				fmt.Fprintf(&b, `<td>%s</td>`, esc(c))
			}
		}
		b.WriteString(`</tr>`)
	}
	b.WriteString(`</tbody></table>`)
	return HTML(b.String())
}

func numeric(s string) bool {
	s = strings.TrimSpace(strings.TrimSuffix(s, "%"))
	if i := strings.IndexByte(s, ' '); i > 0 {
		s = s[:i] // "12.5 Mbit/s"
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// Section is a titled part of a Page.
type Section struct {
	Heading string
	Note    string // a paragraph under the heading (plain text)
	Blocks  []HTML
}

// Page is a complete, self-contained HTML document.
type Page struct {
	Title    string
	Subtitle string
	Sections []Section
	Footer   string
}

// Add appends a section holding blocks (charts, tables).
func (p *Page) Add(heading string, blocks ...HTML) *Section {
	p.Sections = append(p.Sections, Section{Heading: heading, Blocks: blocks})
	return &p.Sections[len(p.Sections)-1]
}

// Write renders the page. The document references nothing outside itself.
func (p Page) Write(w io.Writer) error {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n" +
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	fmt.Fprintf(&b, "<title>%s</title>\n<style>%s</style></head>\n<body>\n<header><h1>%s</h1>", esc(p.Title), PageCSS, esc(p.Title))
	if p.Subtitle != "" {
		fmt.Fprintf(&b, "<p>%s</p>", esc(p.Subtitle))
	}
	b.WriteString("</header>\n<main>\n")
	for _, s := range p.Sections {
		b.WriteString("<section>")
		if s.Heading != "" {
			fmt.Fprintf(&b, "<h2>%s</h2>", esc(s.Heading))
		}
		if s.Note != "" {
			fmt.Fprintf(&b, "<p class=\"note\">%s</p>", esc(s.Note))
		}
		b.WriteString("\n")
		for _, blk := range s.Blocks {
			b.WriteString(string(blk) + "\n")
		}
		b.WriteString("</section>\n")
	}
	b.WriteString("</main>\n")
	if p.Footer != "" {
		fmt.Fprintf(&b, "<footer>%s</footer>\n", esc(p.Footer))
	}
	b.WriteString("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// PageCSS is the stylesheet every page embeds.
const PageCSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f6f8;color:#1d2430}
header{background:#1d2430;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c5cdd8}
main{padding:8px 28px 28px;max-width:1180px}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:14px 18px;margin:16px 0}
h2{font-size:17px;margin:0 0 8px}
p.note{margin:0 0 8px;color:#4a5565}
svg.chart{display:block;max-width:100%;height:auto;margin:6px 0}
svg .title{font:600 13px sans-serif;fill:#1d2430}
svg .tick{font:11px sans-serif;fill:#4a5565}
svg .label{font:12px sans-serif;fill:#1d2430}
svg .legend{font:12px sans-serif;fill:#1d2430}
svg .grid{stroke:#e3e7ec;stroke-width:1}
svg .axis{stroke:#7a8594;stroke-width:1}
table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}
caption{text-align:left;font-weight:600;padding:4px 0}
th,td{border-bottom:1px solid #e3e7ec;padding:4px 10px;text-align:left}
th{background:#eef1f5}
td.num{text-align:right;font-variant-numeric:tabular-nums}
footer{color:#7a8594;font-size:12px;padding:0 28px 20px}
`
