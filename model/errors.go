package model

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Kind classifies an error so that callers (the API above all) can map it to a response
// without parsing messages.
type Kind uint8

// The error kinds the product distinguishes. The API maps each to one HTTP status.
const (
	KindInternal Kind = iota
	KindInvalid
	KindNotFound
	KindConflict
	KindUnauthorized
	KindForbidden
	KindBudgetExceeded
	KindTooLarge
	KindUnsupportedMedia
	KindRateLimited
)

var kindNames = map[Kind]string{
	KindInternal:         "internal",
	KindInvalid:          "invalid",
	KindNotFound:         "not_found",
	KindConflict:         "conflict",
	KindUnauthorized:     "unauthorized",
	KindForbidden:        "forbidden",
	KindBudgetExceeded:   "budget_exceeded",
	KindTooLarge:         "too_large",
	KindUnsupportedMedia: "unsupported_media_type",
	KindRateLimited:      "rate_limited",
}

// String returns the stable machine code of the kind, used as the "code" of API errors.
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return "internal"
}

// FieldError names one problem with one input field: where it is, which rule it broke and
// the offending value. Ingest reports carry one per problem, the API returns them as details.
type FieldError struct {
	// Field is the name of the field, e.g. "answers.VDT-02" or "organisation.state".
	Field string `json:"field"`
	// Rule is a stable identifier of the rule that failed, e.g. "out_of_range".
	Rule string `json:"rule"`
	// Value is the offending value as given (truncated when long), empty when missing.
	Value string `json:"value"`
	// Message explains the problem in words a person can act on.
	Message string `json:"message"`
}

// Error is the application error type: a kind, a human message and optional field details.
type Error struct {
	Kind    Kind
	Message string
	Details []FieldError
	Err     error
}

// Error implements the error interface.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	for i, d := range e.Details {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(d.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the wrapped cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error of the given kind with a formatted message.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Invalid builds a KindInvalid error with field details.
func Invalid(message string, details ...FieldError) *Error {
	return &Error{Kind: KindInvalid, Message: message, Details: details}
}

// ErrorKind returns the kind of the first *Error in err's chain, KindInternal otherwise.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// MaxQuoted is how many bytes of a caller's value an error quotes.
const MaxQuoted = 80

// Clip keeps a caller's value short enough to quote in an error, a report or a log: at
// most max bytes, cut on a rune boundary (so valid UTF-8 stays valid) and marked with "…"
// where it was cut. Every layer that quotes input clips with it.
func Clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// truncate clips an offending value to MaxQuoted bytes.
func truncate(s string) string { return Clip(s, MaxQuoted) }
