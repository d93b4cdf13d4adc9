package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

// version is iohub's version; release builds set it with
// -ldflags "-X main.version=1.2.3".
var version = "0.1.0"

// newVersionCmd builds `iohub version`, which prints e.g. "iohub 0.1.0 (go1.26.0)".
func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "iohub %s (%s)\n", version, runtime.Version())
			return asRuntime(err)
		},
	}
}
