// Package auth decides who a Socket.IO client is: it finds the JWT the client presented,
// verifies it, and says which rooms the user may join.
//
// It implements the "Handshake and identity" section of PROTOCOL.md and imports no other
// iohub package. A connection handler uses it in three steps:
//
//	v, err := auth.NewVerifier(ctx, auth.Options{Secret: secret, Leeway: 30 * time.Second})
//	// ... per connection:
//	raw, err := auth.ExtractToken(auth.TokenSources{Auth: authPayload, Authorization: hdr, Query: q["token"]})
//	id, err := v.Verify(raw) // when err != nil: connect_error data.code = auth.Code(err)
//	if !id.CanJoin("general", auth.PolicyOpen) { /* forbidden */ }
//
// Every error of ExtractToken and Verify wraps exactly one of ErrMissingToken, ErrInvalidToken
// or ErrTokenExpired, so Code maps it to the client-visible code; the text after the code is the
// reason, for the logs. Errors of the JWT library never leave the package as wrapped values.
// NewVerifier's errors are configuration errors that name the auth.jwt.* key at fault.
//
// Mint signs HS256 tokens for the `iohub token` command and the dev-mode token route.
package auth
