package auth

import (
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// Identity is who a verified token says the user is.
type Identity struct {
	// UserID is the sub claim (required, a non-empty string).
	UserID string
	// UserName is the name claim, else preferred_username, else sub (non-string values are skipped).
	UserName string
	// Rooms are the room-name patterns of the rooms claim.
	Rooms []string
	// HasRooms reports whether the token carried a rooms claim (a null claim counts as absent).
	HasRooms bool
}

// Policy says which rooms a token without a rooms claim may join (config key rooms.default_policy).
type Policy string

// The policies of rooms.default_policy.
const (
	// PolicyOpen lets a token without a rooms claim join any room.
	PolicyOpen Policy = "open"
	// PolicyClosed lets a token without a rooms claim join no room.
	PolicyClosed Policy = "closed"
)

// CanJoin reports whether the user may join room. With a rooms claim, room must match one of
// its patterns as a whole: `*` matches any run of characters (the empty run included) and every
// other character matches only itself. Without a rooms claim def decides: PolicyOpen allows
// any room, anything else none. CanJoin only applies the token's permissions; refusing
// personal `user:` rooms and malformed room ids is the caller's job.
func (id Identity) CanJoin(room string, def Policy) bool {
	if !id.HasRooms {
		return def == PolicyOpen
	}
	for _, p := range id.Rooms {
		if matchPattern(p, room) {
			return true
		}
	}
	return false
}

// matchPattern matches s against a pattern whose only wildcard is `*`. The literal pieces
// between stars are found leftmost-first, which is exact for this kind of pattern and linear.
func matchPattern(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	first, last := parts[0], parts[len(parts)-1]
	if !strings.HasPrefix(s, first) {
		return false
	}
	s = s[len(first):]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, last)
}

// identityFromClaims reads the identity claims of a verified token.
func identityFromClaims(c jwt.MapClaims) (Identity, error) {
	sub, ok := c["sub"].(string)
	if !ok || sub == "" {
		return Identity{}, fmt.Errorf("%w: sub claim must be a non-empty string, got %s", ErrInvalidToken, describe(c["sub"]))
	}
	rooms, hasRooms, err := roomsClaim(c["rooms"])
	if err != nil {
		return Identity{}, err
	}
	return Identity{
		UserID:   sub,
		UserName: firstString(c, sub, "name", "preferred_username"),
		Rooms:    rooms,
		HasRooms: hasRooms,
	}, nil
}

// roomsClaim reads the rooms claim: absent or null means no claim, a list of strings is the
// patterns, anything else is ErrInvalidToken.
func roomsClaim(v any) (patterns []string, has bool, err error) {
	if v == nil {
		return nil, false, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, false, fmt.Errorf("%w: rooms claim must be a list of strings, got %s", ErrInvalidToken, describe(v))
	}
	patterns = make([]string, 0, len(list))
	for i, item := range list {
		s, ok := item.(string)
		if !ok {
			return nil, false, fmt.Errorf("%w: rooms claim item %d must be a string, got %s", ErrInvalidToken, i, describe(item))
		}
		patterns = append(patterns, s)
	}
	return patterns, true, nil
}

// firstString returns the first of the named claims that is a non-empty string, else def.
func firstString(c jwt.MapClaims, def string, names ...string) string {
	for _, n := range names {
		if s, ok := c[n].(string); ok && s != "" {
			return s
		}
	}
	return def
}

// describe names the JSON type of a decoded claim value for error messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case string:
		if x == "" {
			return "an empty string"
		}
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("a %T", v)
	}
}
