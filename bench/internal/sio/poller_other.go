//go:build !linux

package sio

import "errors"

// Poller is available on Linux only; elsewhere each connection reads on its own goroutine.
type Poller struct{}

// NewPoller fails outside Linux.
func NewPoller() (*Poller, error) { return nil, errors.New("sio: the poller needs Linux (epoll)") }

// Close does nothing.
func (p *Poller) Close() {}

func (p *Poller) serve(*wsTransport, func([]byte)) error { return ErrClosed }

func (p *Poller) release(*wsTransport) {}
