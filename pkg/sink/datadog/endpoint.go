package datadog

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	dd "github.com/DataDog/datadog-api-client-go/v2/api/datadog"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"

	"github.com/auditpipe/auditpipe/pkg/config"
)

// ErrConfig marks a datadog configuration the sink cannot run with; the error names the key.
var ErrConfig = errors.New("datadog: bad configuration")

const (
	// intakePath is the path SubmitLog appends to the base URL.
	intakePath = "/api/v2/logs"
	// submitLogOperation is SubmitLog's name in the client's OperationServers.
	submitLogOperation = "v2.LogsApi.SubmitLog"
)

// baseURL returns the URL that SubmitLog appends /api/v2/logs to. With cfg.URL set, it is
// that URL — http or https, with a host, without credentials, query or fragment; a path is
// kept (a proxy's prefix), and a trailing "/api/v2/logs" is removed so that the full intake
// URL works too. Otherwise it is https://http-intake.logs.<cfg.Site>, the intake of every
// Datadog site (datadoghq.com, us3.datadoghq.com, datadoghq.eu, ddog-gov.com, …).
func baseURL(cfg config.Datadog) (string, error) {
	if cfg.URL == "" {
		site := cfg.Site
		if site == "" || strings.ContainsAny(site, "/:@?# \t") {
			return "", fmt.Errorf("%w: forward.datadog.site %q: want a Datadog site such as datadoghq.com or datadoghq.eu, or set forward.datadog.url",
				ErrConfig, site)
		}
		return "https://http-intake.logs." + site, nil
	}
	u, err := url.Parse(cfg.URL)
	switch {
	case err != nil:
		// url.Parse's error repeats the URL, which may hold what the user meant as a secret.
		return "", fmt.Errorf("%w: forward.datadog.url: not a URL", ErrConfig)
	case u.User != nil:
		return "", fmt.Errorf("%w: forward.datadog.url: must not hold credentials", ErrConfig)
	case u.Scheme != "https" && u.Scheme != "http":
		return "", fmt.Errorf("%w: forward.datadog.url: scheme must be https or http, got %q", ErrConfig, u.Scheme)
	case u.Host == "":
		return "", fmt.Errorf("%w: forward.datadog.url: no host", ErrConfig)
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return "", fmt.Errorf("%w: forward.datadog.url: must not have a query or fragment", ErrConfig)
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), intakePath)
	u.RawPath = ""
	return strings.TrimSuffix(u.String(), "/"), nil
}

// newLogsAPI returns a LogsApi that posts to base through hc, with the client's own retry
// off (the shipper retries) and a User-Agent that names auditpipe.
//
// The target is set through the configuration's OperationServers: one server whose URL is
// base, without variables. Unlike the configuration's Host and Scheme, that keeps a path
// prefix; unlike ContextServerVariables, it works for any site and any http(s) URL.
func newLogsAPI(base string, hc *http.Client) *datadogV2.LogsApi {
	cfg := dd.NewConfiguration()
	cfg.HTTPClient = hc
	cfg.UserAgent = "auditpipe " + cfg.UserAgent
	cfg.RetryConfiguration.EnableRetry = false
	cfg.OperationServers = map[string]dd.ServerConfigurations{
		submitLogOperation: {{URL: base, Description: "Datadog Logs intake"}},
	}
	return datadogV2.NewLogsApi(dd.NewAPIClient(cfg))
}
