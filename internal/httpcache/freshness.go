package httpcache

import (
	"regexp"
	"strings"
	"sync"
	"time"
)

// Response is what the policy needs to know about a stored response.
type Response struct {
	Status       int
	Header       Header
	RequestTime  time.Time // when the request that produced it was sent (§4.2.3 request_time)
	ResponseTime time.Time // when it was received (§4.2.3 response_time)
	// Targets is the cache's target list (RFC 9213): a valid targeted
	// field in it replaces Cache-Control and Expires. Nil: none.
	Targets Targets

	parsed *parsed // set by Prepare
}

// parsed holds what Prepare extracts from the header once.
type parsed struct {
	cc        Directives
	targeted  bool // cc comes from a targeted field (RFC 9213)
	date      time.Time
	age       time.Duration
	lifetime  time.Duration
	heuristic bool
	varyStar  bool
}

// Prepare parses r's header once, so that the policy calls on r that
// follow (one per cache hit) do not parse it again. r's fields must not
// change afterwards. It returns r.
func (r *Response) Prepare() *Response {
	p := &parsed{date: r.dateValue()}
	p.cc, p.targeted = r.Targets.Directives(r.Header)
	p.age, _ = ParseAge(r.Header)
	_, p.varyStar = VaryFields(r.Header)
	r.parsed = p // Lifetime below already uses cc and date
	p.lifetime, p.heuristic = r.lifetime()
	return r
}

// Directives returns the response directives that apply: those of the
// first valid targeted field of r.Targets, else Cache-Control's.
func (r *Response) Directives() Directives {
	d, _ := r.directives()
	return d
}

func (r *Response) directives() (Directives, bool) {
	if r.parsed != nil {
		return r.parsed.cc, r.parsed.targeted
	}
	return r.Targets.Directives(r.Header)
}

// HeuristicFraction and HeuristicMax shape heuristic freshness (§4.2.2):
// 10% of the time since Last-Modified, at most one day.
const (
	HeuristicFraction = 10
	HeuristicMax      = 24 * time.Hour
)

// HeuristicallyCacheable reports whether status may be stored and given a
// heuristic lifetime without explicit freshness information: the status
// codes RFC 9110 §15.1 defines as heuristically cacheable.
func HeuristicallyCacheable(status int) bool {
	switch status {
	case 200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// httpDateForms are the three HTTP-date forms (RFC 9110 §5.6.7), exactly:
// fixed-width fields, single spaces, two-digit hours. Only the zone's case
// is let go (a sender writing "gmt" means GMT). Compiled on first use, not
// at init: every socklab command would pay for them otherwise.
var httpDateForms = sync.OnceValue(func() []httpDateForm {
	return []httpDateForm{
		{regexp.MustCompile(`^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} (?i:GMT)$`),
			"Mon, 02 Jan 2006 15:04:05 GMT"}, // IMF-fixdate
		{regexp.MustCompile(`^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), [0-9]{2}-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} (?i:GMT)$`),
			"Monday, 02-Jan-06 15:04:05 GMT"}, // obsolete RFC 850
		{regexp.MustCompile(`^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ( [1-9]|[0-9]{2}) [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}$`),
			"Mon Jan _2 15:04:05 2006"}, // obsolete asctime
	}
})

type httpDateForm struct {
	re     *regexp.Regexp
	layout string
}

// ParseHTTPDate parses the three HTTP-date forms of RFC 9110 §5.6.7 and
// nothing else: a one-digit hour or extra spaces make the value invalid
// (so an Expires like that counts as already expired, RFC 9111 §5.3). A
// wrong-case "GMT" is accepted.
func ParseHTTPDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, f := range httpDateForms() {
		if !f.re.MatchString(s) {
			continue
		}
		if strings.HasSuffix(f.layout, "GMT") {
			s = s[:len(s)-3] + "GMT"
		}
		if t, err := time.Parse(f.layout, s); err == nil {
			return t, true
		}
		return time.Time{}, false
	}
	return time.Time{}, false
}

// FormatHTTPDate formats t as an IMF-fixdate.
func FormatHTTPDate(t time.Time) string { return t.UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT") }

// dateValue is the response's Date, or its receipt time when Date is absent
// or invalid (RFC 9110 §6.6.1: a recipient appends one when missing).
func (r *Response) dateValue() time.Time {
	if r.parsed != nil {
		return r.parsed.date
	}
	if t, ok := ParseHTTPDate(get(r.Header, "Date")); ok {
		return t
	}
	return r.ResponseTime
}

// Lifetime is the freshness lifetime for a shared cache (§4.2.1): s-maxage,
// then max-age, then Expires minus Date, then a heuristic (§4.2.2) when the
// response has Last-Modified and is heuristically cacheable or public.
// An Expires that is not a valid HTTP-date means already expired. A
// targeted field (RFC 9213 §2.2) replaces Cache-Control and Expires.
func (r *Response) Lifetime() (lifetime time.Duration, heuristic bool) {
	if r.parsed != nil {
		return r.parsed.lifetime, r.parsed.heuristic
	}
	return r.lifetime()
}

func (r *Response) lifetime() (time.Duration, bool) {
	d, targeted := r.directives()
	switch {
	case d.SMaxAge >= 0:
		return d.SMaxAge, false
	case d.MaxAge >= 0:
		return d.MaxAge, false
	case len(r.Header["Expires"]) > 0 && !targeted:
		exp, ok := ParseHTTPDate(r.Header["Expires"][0])
		if !ok || len(r.Header["Expires"]) > 1 && r.Header["Expires"][1] != r.Header["Expires"][0] {
			return 0, false
		}
		return max(0, exp.Sub(r.dateValue())), false
	}
	lm, ok := ParseHTTPDate(get(r.Header, "Last-Modified"))
	if !ok || !(HeuristicallyCacheable(r.Status) || d.Public) {
		return 0, false
	}
	since := r.dateValue().Sub(lm)
	if since <= 0 {
		return 0, true
	}
	return min(since/HeuristicFraction, HeuristicMax), true
}

// ParseAge parses an Age field strictly (RFC 9111 §5.1): the first member
// of the field value must be delta-seconds; anything else is ignored.
func ParseAge(h Header) (time.Duration, bool) {
	members := listMembers(h, "Age")
	if len(members) == 0 {
		return 0, false
	}
	return ParseDelta(members[0])
}

// Age is the response's current age at now (§4.2.3).
func (r *Response) Age(now time.Time) time.Duration {
	apparent := max(0, r.ResponseTime.Sub(r.dateValue()))
	var ageValue time.Duration
	if r.parsed != nil {
		ageValue = r.parsed.age
	} else {
		ageValue, _ = ParseAge(r.Header)
	}
	responseDelay := max(0, r.ResponseTime.Sub(r.RequestTime))
	correctedAge := ageValue + responseDelay
	initial := max(apparent, correctedAge)
	resident := max(0, now.Sub(r.ResponseTime))
	age := initial + resident
	if age < 0 || age > MaxDelta { // overflow guard (§1.2.2)
		return MaxDelta
	}
	return age
}

// TTL is lifetime minus current age at now; negative when stale.
func (r *Response) TTL(now time.Time) time.Duration {
	lt, _ := r.Lifetime()
	return lt - r.Age(now)
}
