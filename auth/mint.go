package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MintOptions describe a token to sign with Mint.
type MintOptions struct {
	// Subject is the sub claim, the user id (required).
	Subject string
	// Name is the name claim, left out when empty.
	Name string
	// Rooms is the rooms claim, left out when nil (an empty non-nil list allows no room).
	Rooms []string
	// TTL sets exp to now+TTL; zero mints a token without exp.
	TTL time.Duration
}

// Mint signs an HS256 token with secret carrying sub, iat and, as set in o, exp, name and
// rooms. It is what `iohub token` and the dev-mode /dev/token route hand out.
func Mint(secret string, o MintOptions) (string, error) {
	switch {
	case secret == "":
		return "", errors.New("auth: mint: no secret (set auth.jwt.secret)")
	case o.Subject == "":
		return "", errors.New("auth: mint: empty subject")
	case o.TTL < 0:
		return "", fmt.Errorf("auth: mint: negative ttl %s", o.TTL)
	}
	now := time.Now()
	claims := jwt.MapClaims{"sub": o.Subject, "iat": now.Unix()}
	if o.TTL > 0 {
		claims["exp"] = now.Add(o.TTL).Unix()
	}
	if o.Name != "" {
		claims["name"] = o.Name
	}
	if o.Rooms != nil {
		claims["rooms"] = o.Rooms
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		return "", fmt.Errorf("auth: mint: sign: %w", err)
	}
	return signed, nil
}
