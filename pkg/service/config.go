package service

import (
	"fmt"
	"io"
	"log/slog"
	"slices"

	"github.com/auditpipe/auditpipe/pkg/config"
)

// LoadConfig loads the configuration from src (config.Load, which also accepts EnvOwner in
// src.Env), logs Load's warnings on stderr and validates the result for service svc
// (Config.ValidateFor).
//
// Each warning is one WARN record, msg "configuration" with source, key and warning, written
// with the log settings loaded, or the defaults when Load failed; warnings are logged even
// when LoadConfig then fails. The error is "configuration:\n" and Load's error when the
// sources cannot be read, "invalid configuration:\n" and the validation error otherwise; each
// lists every problem, naming its key.
func LoadConfig(src config.Sources, svc config.Service, stderr io.Writer) (*config.Config, error) {
	if !slices.Contains(src.AllowEnv, EnvOwner) {
		src.AllowEnv = append(slices.Clip(src.AllowEnv), EnvOwner)
	}
	cfg, warnings, err := config.Load(src)
	logCfg := config.Default().Log
	if cfg != nil {
		logCfg = cfg.Log
	}
	logger := slog.New(logCfg.Handler(stderr))
	for _, w := range warnings {
		logger.Warn("configuration", "source", w.Source, "key", w.Key, "warning", w.Message)
	}
	if err != nil {
		return nil, fmt.Errorf("configuration:\n%w", err)
	}
	if err := cfg.ValidateFor(svc); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
}
