package auth

import (
	"fmt"
	"strings"
)

// TokenSources are the three places a client can present a token, in priority order.
type TokenSources struct {
	// Auth is the CONNECT auth payload; the token is under the key "token".
	Auth map[string]any
	// Authorization is the Authorization header value ("Bearer <jwt>"), "" when absent.
	Authorization string
	// Query holds the values of the "token" query parameter (nil when absent).
	Query []string
}

// ExtractToken returns the token of the first place that has one: the auth payload, then the
// Authorization header, then the query. A place has a token when it holds anything other than
// nothing or an empty string, and that place decides: an invalid token there is not rescued
// by a valid one further down. In detail:
//
//   - auth.token that is a non-empty string is the token; absent, nil or "" falls through;
//     anything else (a number, an object...) is ErrInvalidToken.
//   - a non-empty Authorization header must be "Bearer <token>" (scheme case-insensitive);
//     any other non-empty value, such as "Basic ..." or a bare "Bearer", counts as having a
//     token and is ErrInvalidToken.
//   - the query has a token when one of its values is non-empty; several non-empty values are
//     ErrInvalidToken (as Node, which sees an array there).
//
// When no place has a token the error is ErrMissingToken.
func ExtractToken(src TokenSources) (string, error) {
	if tok, found, err := fromAuth(src.Auth); found {
		return tok, err
	}
	if src.Authorization != "" {
		return fromAuthorization(src.Authorization)
	}
	if tok, found, err := fromQuery(src.Query); found {
		return tok, err
	}
	return "", fmt.Errorf("%w: no token in the auth payload, the Authorization header or the query", ErrMissingToken)
}

// fromAuth reads auth.token; found reports whether the payload has a token at all.
func fromAuth(payload map[string]any) (tok string, found bool, err error) {
	v, ok := payload["token"]
	if !ok || v == nil || v == "" {
		return "", false, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", true, fmt.Errorf("%w: auth.token must be a string, got %s", ErrInvalidToken, describe(v))
	}
	return s, true, nil
}

// fromAuthorization takes the token out of a non-empty "Bearer <token>" header value.
func fromAuthorization(header string) (string, error) {
	scheme, rest, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", fmt.Errorf("%w: Authorization header is not a Bearer token", ErrInvalidToken)
	}
	tok := strings.TrimSpace(rest)
	if tok == "" {
		return "", fmt.Errorf("%w: Authorization header has an empty Bearer token", ErrInvalidToken)
	}
	return tok, nil
}

// fromQuery picks the single non-empty token query value; found reports whether there is any.
func fromQuery(values []string) (tok string, found bool, err error) {
	n := 0
	for _, v := range values {
		if v != "" {
			tok = v
			n++
		}
	}
	switch n {
	case 0:
		return "", false, nil
	case 1:
		return tok, true, nil
	default:
		return "", true, fmt.Errorf("%w: %d token query parameters, want one", ErrInvalidToken, n)
	}
}
