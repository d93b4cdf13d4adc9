package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// Options configure a Verifier (config keys auth.jwt.*). At least one of Secret,
// PublicKeyFile and JWKSURL is required; they may be combined, and each token is checked with
// the key its alg calls for: HS* with Secret, RS*/PS*/ES* with the public key file and the
// JWKS.
type Options struct {
	// Secret is the HMAC shared secret (auth.jwt.secret).
	Secret string
	// PublicKeyFile is a PEM RSA or EC public key, or a certificate holding one
	// (auth.jwt.public_key_file).
	PublicKeyFile string
	// JWKSURL is a JWKS endpoint (auth.jwt.jwks_url). Its keys are cached, refreshed hourly and
	// on a kid the cache does not know (at most once a minute).
	JWKSURL string
	// Algorithms is the allow-list (auth.jwt.algorithms). Empty means derived from the keys:
	// HS256 with Secret; RS256 for an RSA file, ES256/ES384/ES512 for an EC file by its curve;
	// RS256 and ES256 with JWKSURL. "none" is never accepted.
	Algorithms []string
	// Issuer, when set, must equal the iss claim (auth.jwt.issuer).
	Issuer string
	// Audience, when set, must be one of the aud claim's values (auth.jwt.audience).
	Audience string
	// Leeway is the clock skew allowed on exp and nbf (auth.jwt.leeway; config default 30s,
	// zero here means none).
	Leeway time.Duration
}

// Verifier checks tokens. It is safe for concurrent use.
type Verifier struct {
	ctx       context.Context
	parser    *jwt.Parser
	secret    []byte          // nil without a secret
	publicKey publicKey       // zero without a public key file
	jwks      keyfunc.Keyfunc // nil without a JWKS URL
}

// NewVerifier checks opts, loads the keys and builds the parser once. With a JWKS URL it
// fetches the key set (a failure is logged through slog.Default, not returned: the first
// token with a kid retries) and starts a refresh goroutine that ends when ctx ends; ctx also
// bounds the refreshes Verify triggers. Errors name the
// configuration key that is wrong, e.g. "auth.jwt.public_key_file: no PEM block in /x.pem".
func NewVerifier(ctx context.Context, opts Options) (*Verifier, error) {
	if opts.Secret == "" && opts.PublicKeyFile == "" && opts.JWKSURL == "" {
		return nil, errors.New("auth.jwt: no key configured: set auth.jwt.secret, auth.jwt.public_key_file or auth.jwt.jwks_url")
	}
	if opts.Leeway < 0 {
		return nil, fmt.Errorf("auth.jwt.leeway: must not be negative, got %s", opts.Leeway)
	}
	v := &Verifier{ctx: ctx}
	if opts.Secret != "" {
		v.secret = []byte(opts.Secret)
	}
	if opts.PublicKeyFile != "" {
		pk, err := loadPublicKey(opts.PublicKeyFile)
		if err != nil {
			return nil, err
		}
		v.publicKey = pk
	}
	ks := keySet{secret: v.secret != nil, publicKey: v.publicKey, jwks: opts.JWKSURL != ""}
	algs, err := ks.algorithms(opts.Algorithms)
	if err != nil {
		return nil, err
	}
	if opts.JWKSURL != "" {
		if v.jwks, err = newJWKS(ctx, opts.JWKSURL); err != nil {
			return nil, err
		}
	}
	v.parser = jwt.NewParser(parserOptions(opts, algs)...)
	return v, nil
}

// parserOptions are the checks every token goes through besides its signature.
func parserOptions(opts Options, algs []string) []jwt.ParserOption {
	po := []jwt.ParserOption{jwt.WithValidMethods(algs), jwt.WithLeeway(opts.Leeway)}
	if opts.Issuer != "" {
		po = append(po, jwt.WithIssuer(opts.Issuer))
	}
	if opts.Audience != "" {
		po = append(po, jwt.WithAudience(opts.Audience))
	}
	return po
}

// Verify checks the token's algorithm, signature and claims and returns who it names. Its
// errors wrap ErrTokenExpired when a correctly signed token's exp has passed (beyond the
// leeway) and ErrInvalidToken for everything else: a bad signature, an algorithm outside the
// allow-list, nbf in the future, a wrong iss or aud, a missing, empty or non-string sub, or a
// rooms claim that is not a list of strings. Tokens without exp are accepted. A correctly
// signed token whose exp has passed is token_expired even when other claims are wrong too
// (the client's remedy, a fresh token, is the same).
func (v *Verifier) Verify(token string) (Identity, error) {
	claims := jwt.MapClaims{}
	if _, err := v.parser.ParseWithClaims(token, claims, v.keyFunc); err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return Identity{}, fmt.Errorf("%w: %v", ErrTokenExpired, err)
		}
		return Identity{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	return identityFromClaims(claims)
}

// keyFunc is the jwt.Keyfunc: it picks the verification keys by the token's algorithm,
// which the parser has already checked against the allow-list: the secret for HS*, never a
// public key (no key confusion).
func (v *Verifier) keyFunc(t *jwt.Token) (any, error) {
	fam := algFamilies[t.Method.Alg()]
	if fam == familyHMAC {
		return v.secret, nil
	}
	return v.publicKeys(t, fam)
}

// publicKeys gathers the keys of the family that may have signed t: the public key file's
// and the JWKS entry named by the token's kid (all JWKS keys when it names none). A kid the
// JWKS cache does not know triggers its rate-limited refresh even when the file's key is the
// one that will verify. Only that refresh gets a deadline (jwksTimeout): HMAC and file keys
// need none, and a timer per connection is not free.
func (v *Verifier) publicKeys(t *jwt.Token, fam keyFamily) (jwt.VerificationKeySet, error) {
	var set jwt.VerificationKeySet
	if v.publicKey.family() == fam {
		set.Keys = append(set.Keys, v.publicKey.key)
	}
	if v.jwks == nil {
		return set, nil
	}
	ctx, cancel := context.WithTimeout(v.ctx, jwksTimeout)
	defer cancel()
	found, err := v.jwks.KeyfuncCtx(ctx)(t)
	switch k := found.(type) {
	case jwt.VerificationKeySet:
		set.Keys = append(set.Keys, k.Keys...)
	case nil:
	default:
		set.Keys = append(set.Keys, k)
	}
	if len(set.Keys) == 0 && err != nil {
		return set, fmt.Errorf("JWKS: %w", err)
	}
	return set, nil
}
