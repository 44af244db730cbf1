package datadog

import (
	"errors"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/config"
)

func TestBaseURL(t *testing.T) {
	tests := []struct {
		name    string
		site    string
		url     string
		want    string
		wantErr bool
	}{
		{name: "default site", site: "datadoghq.com", want: "https://http-intake.logs.datadoghq.com"},
		{name: "eu site", site: "datadoghq.eu", want: "https://http-intake.logs.datadoghq.eu"},
		{name: "us3 site", site: "us3.datadoghq.com", want: "https://http-intake.logs.us3.datadoghq.com"},
		{name: "gov site", site: "ddog-gov.com", want: "https://http-intake.logs.ddog-gov.com"},
		{name: "url wins over site", site: "datadoghq.eu", url: "http://127.0.0.1:8125", want: "http://127.0.0.1:8125"},
		{name: "proxy with a prefix", url: "https://proxy.example:8443/datadog/", want: "https://proxy.example:8443/datadog"},
		{name: "full intake url", url: "https://proxy.example/dd/api/v2/logs", want: "https://proxy.example/dd"},
		{name: "no site", site: "", wantErr: true},
		{name: "site with a scheme", site: "https://datadoghq.com", wantErr: true},
		{name: "ftp url", url: "ftp://proxy.example", wantErr: true},
		{name: "url with credentials", url: "https://user:pw@proxy.example", wantErr: true},
		{name: "url with a query", url: "https://proxy.example/?dd-api-key=x", wantErr: true},
		{name: "url without host", url: "https:///path", wantErr: true},
		{name: "not a url", url: "http://[::1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := baseURL(config.Datadog{Site: tt.site, URL: tt.url})
			if tt.wantErr {
				if !errors.Is(err, ErrConfig) {
					t.Errorf("baseURL = %q, %v; want an ErrConfig error", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("baseURL = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
