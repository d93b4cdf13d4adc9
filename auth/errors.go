package auth

import "errors"

// The sentinels every error of this package wraps. Their texts are the connect_error codes.
var (
	// ErrMissingToken: the client presented no token anywhere.
	ErrMissingToken = errors.New("missing_token")
	// ErrInvalidToken: the token is malformed, badly signed, or its claims are refused.
	ErrInvalidToken = errors.New("invalid_token")
	// ErrTokenExpired: the token is correctly signed but its exp (plus leeway) has passed.
	ErrTokenExpired = errors.New("token_expired")
)

// Code maps an error from this package to the connect_error data.code string:
// "missing_token", "invalid_token" or "token_expired". Any other non-nil error is
// "invalid_token"; nil is "".
func Code(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrMissingToken):
		return ErrMissingToken.Error()
	case errors.Is(err, ErrTokenExpired):
		return ErrTokenExpired.Error()
	default:
		return ErrInvalidToken.Error()
	}
}
