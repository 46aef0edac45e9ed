package model

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Answer is one answer to one capability: a level 0..4, Unknown or NotApplicable.
// The two special values are negative so that an Answer fits a TINYINT column as it is.
type Answer int8

const (
	// Unknown means the organisation does not know; it scores as the model's unknown level (0) and is flagged.
	Unknown Answer = -1
	// NotApplicable excludes the capability from scoring; allowed only where the model says so.
	NotApplicable Answer = -2
)

// IsLevel reports whether the answer is a numeric level (not unknown or na).
func (a Answer) IsLevel() bool { return a >= 0 }

// String renders the answer as it is written in submission files.
func (a Answer) String() string {
	switch a {
	case Unknown:
		return "unknown"
	case NotApplicable:
		return "na"
	}
	return strconv.Itoa(int(a))
}

// ErrAnswerSyntax is returned by ParseAnswer for text that is neither a number, "unknown" nor "na".
type ErrAnswerSyntax struct{ Text string }

func (e *ErrAnswerSyntax) Error() string {
	return fmt.Sprintf("answer %q is not a level, \"unknown\" or \"na\"", truncate(e.Text))
}

// ParseAnswer reads an answer as written in a file: an integer, "unknown" or "na"
// (case-insensitive; "n/a" too, as survey tools write it). Range is checked by the model,
// not here, so that a 7 is reported as out of range rather than unreadable.
func ParseAnswer(text string) (Answer, error) {
	t := strings.TrimSpace(text)
	switch strings.ToLower(t) {
	case "unknown":
		return Unknown, nil
	case "na", "n/a":
		return NotApplicable, nil
	}
	n, err := strconv.Atoi(t)
	if err != nil {
		// Accept "2.0" from spreadsheets, nothing fractional.
		f, ferr := strconv.ParseFloat(t, 64)
		if ferr != nil || f != float64(int(f)) {
			return 0, &ErrAnswerSyntax{Text: text}
		}
		n = int(f)
	}
	if n < -128 || n > 127 {
		return Answer(127), nil // out of range either way; keeps the check in one place
	}
	return Answer(n), nil
}

// MarshalJSON writes levels as numbers and the special answers as strings.
func (a Answer) MarshalJSON() ([]byte, error) {
	if a.IsLevel() {
		return []byte(strconv.Itoa(int(a))), nil
	}
	return json.Marshal(a.String())
}

// UnmarshalJSON accepts a number or one of the strings ParseAnswer knows.
func (a *Answer) UnmarshalJSON(b []byte) error {
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	} else {
		s = string(b)
	}
	v, err := ParseAnswer(s)
	if err != nil {
		return err
	}
	*a = v
	return nil
}
