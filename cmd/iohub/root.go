package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/iohub/iohub/config"
)

// configFlag is the persistent flag naming the config file; it is not a config key.
const configFlag = "config"

// newRootCmd builds the iohub command tree. A bare iohub serves, so the root command carries
// the same config flags as serve.
func newRootCmd(stdout, stderr io.Writer) (*cobra.Command, error) {
	root := &cobra.Command{
		Use:           "iohub",
		Short:         "Socket.IO-compatible real-time chat server",
		Long:          "iohub serves Socket.IO chat rooms, an HTTP emit API, health and metrics.\nWithout a subcommand it runs serve.",
		Args:          cobra.NoArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE:          runServe,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().String(configFlag, "", "config file: .yaml, .yml, .json or .toml")

	serve := &cobra.Command{
		Use:   "serve",
		Short: "Run the chat server (the default command)",
		Args:  cobra.NoArgs,
		RunE:  runServe,
	}
	token, err := newTokenCmd()
	if err != nil {
		return nil, err
	}
	for _, c := range []*cobra.Command{root, serve, token} {
		if err := config.AddFlags(c.Flags()); err != nil {
			return nil, fmt.Errorf("defining flags of %s: %w", c.Name(), err)
		}
	}
	root.AddCommand(serve, token, newVersionCmd())
	return root, nil
}

// loadConfig loads and validates the configuration from the --config file, IOHUB_*
// environment variables and the config flags of flags.
func loadConfig(flags *pflag.FlagSet) (config.Config, error) {
	file, err := flags.GetString(configFlag)
	if err != nil {
		return config.Config{}, fmt.Errorf("reading --%s: %w", configFlag, err)
	}
	cfg, err := config.Load(flags, file)
	if err != nil {
		return config.Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return config.Config{}, err
	}
	return cfg, nil
}
