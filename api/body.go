package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/hcztmm/warehouse/model"
)

// mediaType returns the request's media type, lower case, without parameters ("" when
// the header is missing or unreadable).
func mediaType(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return strings.ToLower(mt)
}

// requireJSON refuses a body that is not declared as JSON with 415: a form post or a
// text/plain body is a client mistake best named at once.
func requireJSON(r *http.Request) error {
	if mt := mediaType(r); mt != "application/json" {
		got := r.Header.Get("Content-Type")
		if got == "" {
			got = "none"
		}
		return model.Errorf(model.KindUnsupportedMedia, "the request body must be application/json (Content-Type: %s)", truncate(got))
	}
	return nil
}

// readBody reads the whole request body up to limit bytes; a larger body is 413.
func readBody(c *gin.Context, limit int64) ([]byte, error) {
	if c.Request.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	data, err := io.ReadAll(c.Request.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, tooLarge(limit)
	}
	if err != nil {
		return nil, model.Errorf(model.KindInvalid, "the request body could not be read: %v", err)
	}
	return data, nil
}

func tooLarge(limit int64) error {
	return &model.Error{Kind: model.KindTooLarge, Message: fmt.Sprintf("the request body is larger than the limit of %d bytes", limit),
		Details: []model.FieldError{{Field: "body", Rule: "too_large", Value: fmt.Sprint(limit),
			Message: fmt.Sprintf("send at most %d bytes", limit)}}}
}

// decodeJSON reads a JSON request body into v strictly: the media type must be JSON,
// the size within the limit, unknown members and trailing data are refused, and each
// problem is a 4xx naming the field, never a 500.
func decodeJSON(c *gin.Context, limit int64, v any) error {
	if err := requireJSON(c.Request); err != nil {
		return err
	}
	data, err := readBody(c, limit)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return model.Invalid("the request body is empty", model.FieldError{Field: "body", Rule: "required",
			Message: "send a JSON object"})
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return model.Invalid("the request body holds more than one JSON value", model.FieldError{Field: "body",
			Rule: "trailing_data", Message: "send exactly one JSON object"})
	}
	return nil
}

// jsonError turns encoding/json's errors into field details.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return model.Invalid("the request body is not valid JSON", model.FieldError{Field: "body", Rule: "invalid_json",
			Value: fmt.Sprint(syn.Offset), Message: fmt.Sprintf("%v (at byte %d)", syn, syn.Offset)})
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return model.Invalid("a field has the wrong type", model.FieldError{Field: field, Rule: "wrong_type",
			Value: truncate(typ.Value), Message: fmt.Sprintf("%s must be %s, not %s", field, jsonTypeName(typ.Type.Kind().String()), typ.Value)})
	case errors.Is(err, io.ErrUnexpectedEOF):
		return model.Invalid("the request body is not valid JSON", model.FieldError{Field: "body", Rule: "invalid_json",
			Message: "the JSON document ends early"})
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return model.Invalid("the request body has an unknown field", model.FieldError{Field: truncate(name), Rule: "unknown_field",
			Value: truncate(name), Message: fmt.Sprintf("%q is not a field of this request", truncate(name))})
	}
	// Anything else (e.g. a value an UnmarshalJSON method refuses) is still the client's.
	return model.Invalid("the request body could not be read", model.FieldError{Field: "body", Rule: "invalid_json",
		Message: truncate(err.Error())})
}

func jsonTypeName(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"), strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "true or false"
	case kind == "slice", kind == "array":
		return "an array"
	case kind == "struct", kind == "map":
		return "an object"
	}
	return "another type"
}

// truncate keeps a client's value short enough to echo in an error.
func truncate(s string) string { return model.Clip(s, model.MaxQuoted) }
