package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/hcztmm/warehouse/model"
)

// statusByKind is the one table from error kind to HTTP status.
var statusByKind = map[model.Kind]int{
	model.KindInvalid:          http.StatusBadRequest,
	model.KindNotFound:         http.StatusNotFound,
	model.KindConflict:         http.StatusConflict,
	model.KindUnauthorized:     http.StatusUnauthorized,
	model.KindForbidden:        http.StatusForbidden,
	model.KindBudgetExceeded:   http.StatusUnprocessableEntity,
	model.KindTooLarge:         http.StatusRequestEntityTooLarge,
	model.KindUnsupportedMedia: http.StatusUnsupportedMediaType,
	model.KindRateLimited:      http.StatusTooManyRequests,
	model.KindInternal:         http.StatusInternalServerError,
}

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error ErrorPayload `json:"error"`
}

// ErrorPayload carries a stable code, a message and the fields at fault.
type ErrorPayload struct {
	Code    string             `json:"code"`
	Message string             `json:"message"`
	Details []model.FieldError `json:"details"`
}

// StatusOf maps an error to its HTTP status through the kind table.
func StatusOf(err error) int {
	if s, ok := statusByKind[model.ErrorKind(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// writeError renders err as the standard error body. Internal errors are logged with the
// request ID and never shown to the client.
func writeError(c *gin.Context, err error) {
	kind := model.ErrorKind(err)
	status := StatusOf(err)
	body := ErrorBody{Error: ErrorPayload{Code: kind.String(), Details: []model.FieldError{}}}
	var appErr *model.Error
	if kind == model.KindInternal || !errors.As(err, &appErr) {
		loggerOf(c).ErrorContext(c.Request.Context(), "internal error", "request_id", requestID(c), "path", c.FullPath(), "err", err)
		body.Error.Code = model.KindInternal.String()
		body.Error.Message = "internal error; quote request ID " + requestID(c) + " when reporting it"
	} else {
		body.Error.Message = bounded(appErr.Message)
		for _, d := range appErr.Details {
			d.Field, d.Value, d.Message = truncate(d.Field), truncate(d.Value), bounded(d.Message)
			body.Error.Details = append(body.Error.Details, d)
		}
	}
	c.AbortWithStatusJSON(status, body)
}

// maxMessage bounds each message of an error answer. Messages quote what the client sent
// (a path, a cycle ID, a workbook cell), and not every layer that words one cuts the
// quote short; every error answer passes through writeError, so it is bounded here,
// once, and a 1 MiB value never comes back in full.
const maxMessage = 1024

// bounded cuts a message to maxMessage bytes on a rune boundary.
func bounded(s string) string { return model.Clip(s, maxMessage) }

// writeMethodNotAllowed answers a known path with the wrong method. It is the one error
// outside the kind table: it is about the request line, not about anything the request
// asked for, so no layer below the router ever produces it. gin has set Allow already.
func writeMethodNotAllowed(c *gin.Context) {
	c.AbortWithStatusJSON(http.StatusMethodNotAllowed, ErrorBody{Error: ErrorPayload{Code: "method_not_allowed",
		Message: bounded("method " + c.Request.Method + " is not allowed on " + c.Request.URL.Path), Details: []model.FieldError{}}})
}
