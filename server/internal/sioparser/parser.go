// Package sioparser is iohub's Socket.IO packet parser, given to the library with its
// SetParser option. It decodes and encodes the packets every chat event is made of (text
// EVENT and ACK packets) in one pass over their text and hands every other packet to the
// library's own parser (github.com/zishang520/socket.io/parsers/socket/v3/parser), so the
// packets it produces and the input it refuses are exactly the library's.
package sioparser

import "github.com/zishang520/socket.io/parsers/socket/v3/parser"

// Parser makes iohub's encoders and decoders. The zero value is ready to use.
type Parser struct{}

// New returns iohub's parser, for socket.ServerOptions.SetParser.
func New() parser.Parser { return Parser{} }

// NewEncoder implements parser.Parser.
func (Parser) NewEncoder() parser.Encoder { return encoder{lib: parser.NewEncoder()} }

// NewDecoder implements parser.Parser.
func (Parser) NewDecoder() parser.Decoder { return newDecoder() }
