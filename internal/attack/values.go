// Package attack holds the values the attack tests put in every field: SQL-looking
// text, markup, encodings that trip naive handling, and sizes beyond every limit. The
// API's and the ingest pipeline's tables share one list, so a value added for one is
// tried by both.
package attack

import (
	"fmt"
	"strings"
)

// Value is one hostile value.
type Value struct {
	// Name labels the value in test names.
	Name string
	// Text is the value itself.
	Text string
	// Number marks a number token (NaN included): written bare where a JSON number goes,
	// as a string elsewhere.
	Number bool
	// RawJSON marks JSON text: written bare wherever a JSON value goes.
	RawJSON bool
}

// Values returns the list, fresh on every call (the large values are built each time, so
// a test may keep or drop them as it likes).
func Values() []Value {
	return []Value{
		{Name: "SQL drop", Text: `'; DROP TABLE submissions; --`},
		{Name: "SQL or", Text: `" OR 1=1 --`},
		{Name: "SQL union", Text: `') UNION SELECT * FROM api_keys --`},
		{Name: "NUL", Text: "x\x00y"},
		{Name: "path traversal", Text: "../../etc/passwd"},
		{Name: "percent-encoded", Text: "%27%3B"},
		{Name: "script", Text: `</script><script>alert(1)</script>`},
		{Name: "RTL and zero-width", Text: "\u202Egnp.exe\u200B\u200D\uFEFF\u2066x\u2069"},
		{Name: "invalid UTF-8", Text: "x\xff\xfey"},
		{Name: "1 MiB", Text: strings.Repeat("A", 1<<20)},
		// The largest value a URL or header can carry through the API (its header limit
		// is 64 KiB), so that paths and headers are tried with something oversized too.
		{Name: "32 KiB", Text: strings.Repeat("B", 32<<10)},
		{Name: "100k nesting", Text: strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000), RawJSON: true},
		{Name: "1e309", Text: "1e309", Number: true},
		{Name: "20 nines", Text: "99999999999999999999", Number: true},
		{Name: "-0", Text: "-0", Number: true},
		{Name: "NaN", Text: "NaN", Number: true},
	}
}

// JSONQuote writes s as a JSON string literal byte for byte: quotes, backslashes and
// control characters escaped, everything else, invalid UTF-8 included, left as it is
// (encoding/json would replace invalid bytes, and the point is to send them).
func JSONQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
