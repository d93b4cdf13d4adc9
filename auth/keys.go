package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"slices"
)

// keyFamily is the kind of key an algorithm verifies with.
type keyFamily int

const (
	familyHMAC keyFamily = iota + 1
	familyRSA
	familyEC
)

// algFamilies lists every algorithm a Verifier can be configured with. "none" is absent on purpose.
var algFamilies = map[string]keyFamily{
	"HS256": familyHMAC, "HS384": familyHMAC, "HS512": familyHMAC,
	"RS256": familyRSA, "RS384": familyRSA, "RS512": familyRSA,
	"PS256": familyRSA, "PS384": familyRSA, "PS512": familyRSA,
	"ES256": familyEC, "ES384": familyEC, "ES512": familyEC,
}

// publicKey is the key of auth.jwt.public_key_file and the algorithm it implies.
type publicKey struct {
	key any // *rsa.PublicKey or *ecdsa.PublicKey
	alg string
}

// family is the key family of the public key (0 when there is none).
func (pk publicKey) family() keyFamily { return algFamilies[pk.alg] }

// loadPublicKey reads the PEM file of auth.jwt.public_key_file: a PUBLIC KEY, an RSA PUBLIC
// KEY or a CERTIFICATE block holding an RSA key or an EC key on P-256, P-384 or P-521.
func loadPublicKey(path string) (publicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return publicKey{}, fmt.Errorf("auth.jwt.public_key_file: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return publicKey{}, fmt.Errorf("auth.jwt.public_key_file: no PEM block in %s", path)
	}
	key, err := parsePublicKeyBlock(block)
	if err != nil {
		return publicKey{}, fmt.Errorf("auth.jwt.public_key_file: %s: %w", path, err)
	}
	alg, err := keyAlgorithm(key)
	if err != nil {
		return publicKey{}, fmt.Errorf("auth.jwt.public_key_file: %s: %w", path, err)
	}
	return publicKey{key: key, alg: alg}, nil
}

// parsePublicKeyBlock decodes one PEM block into a public key of any type.
func parsePublicKeyBlock(block *pem.Block) (any, error) {
	var key any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = cert.PublicKey
		}
	default:
		return nil, fmt.Errorf("PEM block %q is not a public key (want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE)", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s block: %w", block.Type, err)
	}
	return key, nil
}

// keyAlgorithm is the algorithm a public key implies: RS256 for RSA, and ES256, ES384 or
// ES512 for an EC key on P-256, P-384 or P-521. Other keys are refused.
func keyAlgorithm(key any) (string, error) {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return "RS256", nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return "ES256", nil
		case elliptic.P384():
			return "ES384", nil
		case elliptic.P521():
			return "ES512", nil
		}
		return "", fmt.Errorf("EC curve %s is not supported", k.Curve.Params().Name)
	default:
		return "", fmt.Errorf("%T keys are not supported, want RSA or EC", key)
	}
}

// keySet is what a Verifier has been configured with, to check or derive the allow-list.
type keySet struct {
	secret    bool
	publicKey publicKey // zero without a public key file
	jwks      bool
}

// algorithms returns the allow-list: requested when given (each one checked to be supported
// and to have a configured key), else derived from the keys.
func (ks keySet) algorithms(requested []string) ([]string, error) {
	if len(requested) == 0 {
		return ks.derivedAlgorithms(), nil
	}
	for _, alg := range requested {
		fam, ok := algFamilies[alg]
		if !ok {
			return nil, fmt.Errorf("auth.jwt.algorithms: %q is not supported (want HS*, RS*, PS* or ES* with 256, 384 or 512)", alg)
		}
		if !ks.has(fam) {
			return nil, fmt.Errorf("auth.jwt.algorithms: %s needs %s", alg, keyNeeded(fam))
		}
	}
	return slices.Clone(requested), nil
}

// derivedAlgorithms is the default allow-list: HS256 with a secret, the public key file's
// algorithm, RS256 and ES256 with a JWKS URL.
func (ks keySet) derivedAlgorithms() []string {
	var algs []string
	if ks.secret {
		algs = append(algs, "HS256")
	}
	if ks.publicKey.alg != "" {
		algs = append(algs, ks.publicKey.alg)
	}
	if ks.jwks {
		for _, alg := range []string{"RS256", "ES256"} {
			if !slices.Contains(algs, alg) {
				algs = append(algs, alg)
			}
		}
	}
	return algs
}

// has reports whether a key of the family is configured.
func (ks keySet) has(fam keyFamily) bool {
	if fam == familyHMAC {
		return ks.secret
	}
	return ks.jwks || ks.publicKey.family() == fam
}

// keyNeeded names the configuration that provides keys of the family.
func keyNeeded(fam keyFamily) string {
	switch fam {
	case familyHMAC:
		return "auth.jwt.secret"
	case familyRSA:
		return "an RSA auth.jwt.public_key_file or auth.jwt.jwks_url"
	default:
		return "an EC auth.jwt.public_key_file or auth.jwt.jwks_url"
	}
}
