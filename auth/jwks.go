package auth

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"golang.org/x/time/rate"
)

// JWKS cache behaviour. The cache is filled when the Verifier is built (a failure there is
// logged, not fatal, so an identity provider that is down does not stop iohub from starting),
// refreshed every jwksRefreshInterval, and refreshed early when a token names a kid the cache
// does not know, at most once per jwksUnknownKIDEvery so forged kids cannot hammer the
// provider.
const (
	// jwksTimeout bounds one JWKS request, and so how long a Verify can wait on the provider.
	jwksTimeout         = 10 * time.Second
	jwksRefreshInterval = time.Hour
	jwksUnknownKIDEvery = time.Minute
)

// newJWKS starts the JWKS cache of auth.jwt.jwks_url. Its refresh goroutine ends with ctx.
func newJWKS(ctx context.Context, rawURL string) (keyfunc.Keyfunc, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("auth.jwt.jwks_url: %q is not an http or https URL", rawURL)
	}
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{rawURL}, keyfunc.Override{
		Client:            &http.Client{Timeout: jwksTimeout},
		HTTPTimeout:       jwksTimeout,
		RateLimitWaitMax:  jwksTimeout,
		RefreshInterval:   jwksRefreshInterval,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(jwksUnknownKIDEvery), 1),
	})
	if err != nil {
		return nil, fmt.Errorf("auth.jwt.jwks_url: %w", err)
	}
	return kf, nil
}
