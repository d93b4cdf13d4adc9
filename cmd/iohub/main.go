// Command iohub runs the iohub chat server and its helpers:
//
//	iohub [serve] [--config FILE] [--listen :3000] [--dev] [--auth.jwt.secret S] ...
//	iohub token --sub ID [--name N] [--rooms 'a,team-*'] [--ttl 1h]
//	iohub version
//
// Every config key is also a flag named like the key and an IOHUB_<KEY> environment variable
// (see package config). Exit status: 0 success, 1 runtime error, 2 bad command line or
// configuration; errors are printed as one line "iohub: <error>" on stderr.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit statuses.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// Once the first signal has started a graceful stop, a second one kills at once.
	context.AfterFunc(ctx, stop)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "iohub: %v\n", err)
	}
	os.Exit(exitCode(err))
}

// run executes the command line args; ctx ends when the process is asked to stop.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root, err := newRootCmd(stdout, stderr)
	if err != nil {
		return runtimeError{err}
	}
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// runtimeError marks an error that happened after the command line and the configuration
// were accepted; every other error is a usage error.
type runtimeError struct{ err error }

// Error is the text of the wrapped error.
func (e runtimeError) Error() string { return e.err.Error() }

// Unwrap returns the wrapped error.
func (e runtimeError) Unwrap() error { return e.err }

// asRuntime marks err, if any, as a runtime error.
func asRuntime(err error) error {
	if err == nil {
		return nil
	}
	return runtimeError{err}
}

// exitCode maps the outcome of run to the process exit status.
func exitCode(err error) int {
	var rt runtimeError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &rt):
		return exitRuntime
	default:
		return exitUsage
	}
}
