package chat

import (
	"errors"
	"fmt"
	"net/http"
)

// Code is one of the client-visible error codes of PROTOCOL.md.
type Code string

// The error codes a client can receive. Anything else is reported as CodeInternal.
const (
	CodeBadRequest   Code = "bad_request"
	CodeUnauthorized Code = "unauthorized"
	CodeForbidden    Code = "forbidden"
	CodeNotFound     Code = "not_found"
	CodeRateLimited  Code = "rate_limited"
	CodeTooLarge     Code = "too_large"
	CodeUnknownEvent Code = "unknown_event"
	CodeInternal     Code = "internal"
)

// HTTPStatus is the HTTP status the API answers with for the code.
func (c Code) HTTPStatus() int {
	switch c {
	case CodeBadRequest, CodeUnknownEvent:
		return http.StatusBadRequest
	case CodeUnauthorized:
		return http.StatusUnauthorized
	case CodeForbidden:
		return http.StatusForbidden
	case CodeNotFound:
		return http.StatusNotFound
	case CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeRateLimited:
		return http.StatusTooManyRequests
	default:
		return http.StatusInternalServerError
	}
}

// Error is an error that is safe to show to a client: a code and a human-readable message.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Errorf builds a client-safe *Error.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// AsError returns err as a client-safe *Error. Errors that are not already one become
// CodeInternal with a generic message (the caller logs the original).
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternal, Message: "internal error"}
}
