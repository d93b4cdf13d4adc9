package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

const (
	testSecret   = "test-secret-of-a-decent-length-0123456789"
	testIssuer   = "https://issuer.test"
	testAudience = "iohub"
)

// newTestVerifier builds a verifier whose context ends with the test.
func newTestVerifier(t *testing.T, opts Options) *Verifier {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	v, err := NewVerifier(ctx, opts)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// claims returns valid claims for the issuer/audience verifier, with overrides applied;
// a nil override value deletes the claim.
func claims(overrides jwt.MapClaims) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{
		"sub": "u1",
		"iss": testIssuer,
		"aud": testAudience,
		"iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
	for k, v := range overrides {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// strictVerifier accepts HS256 with testSecret and RS256 with the test RSA key's PEM file,
// and checks iss and aud with a 30 s leeway.
func strictVerifier(t *testing.T) *Verifier {
	t.Helper()
	return newTestVerifier(t, Options{
		Secret:        testSecret,
		PublicKeyFile: writeFile(t, "rsa.pem", pemPublicKey(t, &rsaKey(t).PublicKey)),
		Issuer:        testIssuer,
		Audience:      testAudience,
		Leeway:        30 * time.Second,
	})
}

func TestVerifyRefuses(t *testing.T) {
	v := strictVerifier(t)
	rsaPEM := pemPublicKey(t, &rsaKey(t).PublicKey)
	hs := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", c) }
	now := time.Now()
	noneToken, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatalf("sign none token: %v", err)
	}
	valid := sign(t, jwt.SigningMethodRS256, rsaKey(t), "", claims(nil))
	parts := strings.Split(valid, ".")
	otherPayload := strings.Split(sign(t, jwt.SigningMethodRS256, rsaKey(t), "", claims(jwt.MapClaims{"sub": "admin"})), ".")[1]

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"empty", "", ErrInvalidToken},
		{"garbage", "not.a.jwt", ErrInvalidToken},
		{"alg none", noneToken, ErrInvalidToken},
		{"HS256 signed with the RSA public key PEM", sign(t, jwt.SigningMethodHS256, rsaPEM, "", claims(nil)), ErrInvalidToken},
		{"HS256 wrong secret", sign(t, jwt.SigningMethodHS256, []byte("other"), "", claims(nil)), ErrInvalidToken},
		{"RS256 payload swapped", parts[0] + "." + otherPayload + "." + parts[2], ErrInvalidToken},
		{"RS384 not in the allow-list", sign(t, jwt.SigningMethodRS384, rsaKey(t), "", claims(nil)), ErrInvalidToken},
		{"expired", hs(claims(jwt.MapClaims{"exp": now.Add(-time.Hour).Unix()})), ErrTokenExpired},
		{"expired RS256", sign(t, jwt.SigningMethodRS256, rsaKey(t), "", claims(jwt.MapClaims{"exp": now.Add(-time.Hour).Unix()})), ErrTokenExpired},
		{"expired and badly signed", sign(t, jwt.SigningMethodHS256, []byte("other"), "", claims(jwt.MapClaims{"exp": now.Add(-time.Hour).Unix()})), ErrInvalidToken},
		{"exp not a number", hs(claims(jwt.MapClaims{"exp": "tomorrow"})), ErrInvalidToken},
		{"nbf in the future", hs(claims(jwt.MapClaims{"nbf": now.Add(time.Hour).Unix()})), ErrInvalidToken},
		{"wrong iss", hs(claims(jwt.MapClaims{"iss": "https://evil.test"})), ErrInvalidToken},
		{"missing iss", hs(claims(jwt.MapClaims{"iss": nil})), ErrInvalidToken},
		{"wrong aud", hs(claims(jwt.MapClaims{"aud": "other"})), ErrInvalidToken},
		{"aud list without ours", hs(claims(jwt.MapClaims{"aud": []string{"a", "b"}})), ErrInvalidToken},
		{"missing aud", hs(claims(jwt.MapClaims{"aud": nil})), ErrInvalidToken},
		{"missing sub", hs(claims(jwt.MapClaims{"sub": nil})), ErrInvalidToken},
		{"empty sub", hs(claims(jwt.MapClaims{"sub": ""})), ErrInvalidToken},
		{"non-string sub", hs(claims(jwt.MapClaims{"sub": 42})), ErrInvalidToken},
		{"rooms a string", hs(claims(jwt.MapClaims{"rooms": "general"})), ErrInvalidToken},
		{"rooms an object", hs(claims(jwt.MapClaims{"rooms": map[string]any{"general": true}})), ErrInvalidToken},
		{"rooms with a number", hs(claims(jwt.MapClaims{"rooms": []any{"general", 7}})), ErrInvalidToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := v.Verify(tc.token)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %+v, %v; want an error wrapping %v", id, err, tc.want)
			}
			if Code(err) != tc.want.Error() {
				t.Errorf("Code(%v) = %q, want %q", err, Code(err), tc.want.Error())
			}
			assertNoJWTError(t, err)
			t.Logf("refused: %v", err)
		})
	}
}

// assertNoJWTError checks that golang-jwt's sentinels do not leak through the error chain.
func assertNoJWTError(t *testing.T, err error) {
	t.Helper()
	for _, jwtErr := range []error{jwt.ErrTokenExpired, jwt.ErrTokenMalformed, jwt.ErrTokenSignatureInvalid,
		jwt.ErrTokenInvalidClaims, jwt.ErrTokenUnverifiable, jwt.ErrTokenNotValidYet} {
		if errors.Is(err, jwtErr) {
			t.Errorf("error %q wraps golang-jwt's %q", err, jwtErr)
		}
	}
}

func TestVerifyAccepts(t *testing.T) {
	v := strictVerifier(t)
	hs := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", c) }
	now := time.Now()
	tests := []struct {
		name  string
		token string
		want  Identity
	}{
		{"HS256 minimal", hs(claims(nil)), Identity{UserID: "u1", UserName: "u1"}},
		{"RS256 via PEM file", sign(t, jwt.SigningMethodRS256, rsaKey(t), "", claims(nil)), Identity{UserID: "u1", UserName: "u1"}},
		{"name wins", hs(claims(jwt.MapClaims{"name": "Ann", "preferred_username": "ann"})), Identity{UserID: "u1", UserName: "Ann"}},
		{"preferred_username", hs(claims(jwt.MapClaims{"preferred_username": "ann"})), Identity{UserID: "u1", UserName: "ann"}},
		{"empty name falls back", hs(claims(jwt.MapClaims{"name": "", "preferred_username": "ann"})), Identity{UserID: "u1", UserName: "ann"}},
		{"non-string name falls back to sub", hs(claims(jwt.MapClaims{"name": 5})), Identity{UserID: "u1", UserName: "u1"}},
		{"rooms", hs(claims(jwt.MapClaims{"rooms": []string{"general", "team-*"}})), Identity{UserID: "u1", UserName: "u1", Rooms: []string{"general", "team-*"}, HasRooms: true}},
		{"empty rooms", hs(claims(jwt.MapClaims{"rooms": []string{}})), Identity{UserID: "u1", UserName: "u1", Rooms: []string{}, HasRooms: true}},
		// A nil map marshals to JSON null (a plain nil override would delete the claim).
		{"null rooms is no claim", hs(claims(jwt.MapClaims{"rooms": jwt.MapClaims(nil)})), Identity{UserID: "u1", UserName: "u1"}},
		{"aud list with ours", hs(claims(jwt.MapClaims{"aud": []string{"other", testAudience}})), Identity{UserID: "u1", UserName: "u1"}},
		{"no exp", hs(claims(jwt.MapClaims{"exp": nil})), Identity{UserID: "u1", UserName: "u1"}},
		{"expired within leeway", hs(claims(jwt.MapClaims{"exp": now.Add(-10 * time.Second).Unix()})), Identity{UserID: "u1", UserName: "u1"}},
		{"nbf within leeway", hs(claims(jwt.MapClaims{"nbf": now.Add(10 * time.Second).Unix()})), Identity{UserID: "u1", UserName: "u1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := v.Verify(tc.token)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !reflect.DeepEqual(id, tc.want) {
				t.Errorf("Verify = %+v, want %+v", id, tc.want)
			}
		})
	}
}

func TestVerifyPublicKeyFileOnlyRefusesHMAC(t *testing.T) {
	rsaPEM := pemPublicKey(t, &rsaKey(t).PublicKey)
	v := newTestVerifier(t, Options{PublicKeyFile: writeFile(t, "rsa.pem", rsaPEM)})
	confused := sign(t, jwt.SigningMethodHS256, rsaPEM, "", claims(nil))
	if _, err := v.Verify(confused); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("HS256 signed with the public key PEM: err = %v, want invalid_token", err)
	}
	if _, err := v.Verify(sign(t, jwt.SigningMethodRS256, rsaKey(t), "", claims(nil))); err != nil {
		t.Fatalf("RS256: %v", err)
	}
}

func TestVerifyECPublicKeyFile(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatalf("generate P-384 key: %v", err)
	}
	tests := []struct {
		name   string
		key    *ecdsa.PrivateKey
		method jwt.SigningMethod
	}{
		{"ES256 with P-256", ecKey(t), jwt.SigningMethodES256},
		{"ES384 with P-384", p384, jwt.SigningMethodES384},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, Options{PublicKeyFile: writeFile(t, "ec.pem", pemPublicKey(t, &tc.key.PublicKey))})
			id, err := v.Verify(sign(t, tc.method, tc.key, "", jwt.MapClaims{"sub": "u1"}))
			if err != nil || id.UserID != "u1" {
				t.Fatalf("Verify = %+v, %v; want u1", id, err)
			}
			other := sign(t, jwt.SigningMethodRS256, rsaKey(t), "", jwt.MapClaims{"sub": "u1"})
			if _, err := v.Verify(other); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("RS256 on an EC verifier: err = %v, want invalid_token", err)
			}
		})
	}
}

func TestVerifyJWKS(t *testing.T) {
	srv := newJWKSServer(t)
	srv.add(t, "r1", jwkset.AlgRS256, &rsaKey(t).PublicKey)
	srv.add(t, "e1", jwkset.AlgES256, &ecKey(t).PublicKey)
	srv.add(t, "o1", jwkset.AlgHS256, []byte("jwks-oct-key"))
	v := newTestVerifier(t, Options{Secret: testSecret, JWKSURL: srv.URL})
	sub := jwt.MapClaims{"sub": "u1"}

	accepted := []struct {
		name  string
		token string
	}{
		{"RS256 by kid", sign(t, jwt.SigningMethodRS256, rsaKey(t), "r1", sub)},
		{"ES256 by kid", sign(t, jwt.SigningMethodES256, ecKey(t), "e1", sub)},
		{"RS256 without kid", sign(t, jwt.SigningMethodRS256, rsaKey(t), "", sub)},
		{"HS256 with the secret", sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", sub)},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // the race detector sees concurrent Verify calls
			if id, err := v.Verify(tc.token); err != nil || id.UserID != "u1" {
				t.Fatalf("Verify = %+v, %v; want u1", id, err)
			}
		})
	}
	refused := []struct {
		name  string
		token string
	}{
		{"HS256 with a JWKS oct key", sign(t, jwt.SigningMethodHS256, []byte("jwks-oct-key"), "o1", sub)},
		{"ES256 signed by the kid of an RSA key", sign(t, jwt.SigningMethodES256, ecKey(t), "r1", sub)},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := v.Verify(tc.token); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("err = %v, want invalid_token", err)
			}
		})
	}
}

func TestVerifyJWKSRefreshesOnUnknownKID(t *testing.T) {
	srv := newJWKSServer(t)
	srv.add(t, "r1", jwkset.AlgRS256, &rsaKey(t).PublicKey)
	v := newTestVerifier(t, Options{JWKSURL: srv.URL})
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times by NewVerifier, want 1", n)
	}

	srv.add(t, "e2", jwkset.AlgES256, &ecKey(t).PublicKey)
	id, err := v.Verify(sign(t, jwt.SigningMethodES256, ecKey(t), "e2", jwt.MapClaims{"sub": "u2"}))
	if err != nil || id.UserID != "u2" {
		t.Fatalf("token with a kid added after start: Verify = %+v, %v; want u2", id, err)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times, want 2 (one refresh for the unknown kid)", n)
	}

	_, err = v.Verify(sign(t, jwt.SigningMethodES256, ecKey(t), "forged", jwt.MapClaims{"sub": "u2"}))
	if !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("unknown kid: err = %v, want invalid_token", err)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times, want still 2 (unknown-kid refreshes are rate-limited)", n)
	}
}

func TestVerifyJWKSDownAtStart(t *testing.T) {
	srv := newJWKSServer(t)
	srv.down.Store(true)
	v := newTestVerifier(t, Options{JWKSURL: srv.URL})

	srv.add(t, "r1", jwkset.AlgRS256, &rsaKey(t).PublicKey)
	srv.down.Store(false)
	id, err := v.Verify(sign(t, jwt.SigningMethodRS256, rsaKey(t), "r1", jwt.MapClaims{"sub": "u1"}))
	if err != nil || id.UserID != "u1" {
		t.Fatalf("Verify after the JWKS came back = %+v, %v; want u1", id, err)
	}
}

func TestNewVerifierErrors(t *testing.T) {
	ctx := context.Background()
	rsaFile := writeFile(t, "rsa.pem", pemPublicKey(t, &rsaKey(t).PublicKey))
	privFile := writeFile(t, "priv.pem", pem8(t))
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no key", Options{Algorithms: []string{"HS256"}}, "auth.jwt: no key configured"},
		{"negative leeway", Options{Secret: "s", Leeway: -time.Second}, "auth.jwt.leeway"},
		{"missing file", Options{PublicKeyFile: "/nonexistent/key.pem"}, "auth.jwt.public_key_file"},
		{"no PEM block", Options{PublicKeyFile: writeFile(t, "x.pem", []byte("hello"))}, "no PEM block in"},
		{"private key", Options{PublicKeyFile: privFile}, `PEM block "PRIVATE KEY" is not a public key`},
		{"alg none", Options{Secret: "s", Algorithms: []string{"none"}}, `auth.jwt.algorithms: "none" is not supported`},
		{"HS256 without secret", Options{PublicKeyFile: rsaFile, Algorithms: []string{"RS256", "HS256"}}, "auth.jwt.algorithms: HS256 needs auth.jwt.secret"},
		{"ES256 with an RSA file", Options{PublicKeyFile: rsaFile, Algorithms: []string{"ES256"}}, "auth.jwt.algorithms: ES256 needs an EC"},
		{"JWKS URL not http", Options{JWKSURL: "ftp://keys.test/jwks.json"}, "auth.jwt.jwks_url"},
		{"JWKS URL relative", Options{JWKSURL: "/jwks.json"}, "auth.jwt.jwks_url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := NewVerifier(ctx, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewVerifier = %v, %v; want an error containing %q", v, err, tc.want)
			}
		})
	}
}

// pem8 is the test EC key as a PKCS #8 "PRIVATE KEY" PEM block.
func pem8(t *testing.T) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(ecKey(t))
	if err != nil {
		t.Fatalf("marshal private key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func TestNewVerifierAcceptsOtherPEMForms(t *testing.T) {
	pub := &rsaKey(t).PublicKey
	tests := []struct {
		name  string
		block *pem.Block
	}{
		{"RSA PUBLIC KEY", &pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(pub)}},
		{"CERTIFICATE", &pem.Block{Type: "CERTIFICATE", Bytes: selfSignedCert(t)}},
	}
	token := sign(t, jwt.SigningMethodRS256, rsaKey(t), "", jwt.MapClaims{"sub": "u1"})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, Options{PublicKeyFile: writeFile(t, "k.pem", pem.EncodeToMemory(tc.block))})
			if _, err := v.Verify(token); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

// selfSignedCert is a DER certificate for the test RSA key.
func selfSignedCert(t *testing.T) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &rsaKey(t).PublicKey, rsaKey(t))
	if err != nil {
		t.Fatalf("create certificate: %v", err)
	}
	return der
}
