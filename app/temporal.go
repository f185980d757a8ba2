package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/ivrflow/ivrflow/workflows"
)

// Temporal says how to reach a Temporal cluster.
type Temporal struct {
	// Address is the frontend's host:port. Required.
	Address string
	// Namespace defaults to "default".
	Namespace string
	// TLSCert and TLSKey are PEM files of a client certificate, for mTLS.
	TLSCert, TLSKey string
	// TLSCA is a PEM file of the CA that signed the server's certificate;
	// the system roots when empty.
	TLSCA string
	// TLSServerName overrides the name the server's certificate must hold.
	TLSServerName string
	// TLS turns TLS on without a client certificate (as with an API key).
	TLS bool
	// APIKey authenticates with a bearer API key (Temporal Cloud); it
	// implies TLS.
	APIKey string
	// Metrics receives the SDK's metrics (SDKMetrics.Handler); nil
	// drops them.
	Metrics client.MetricsHandler
}

// Dial connects to Temporal and checks the namespace is there.
func Dial(ctx context.Context, t Temporal, log *slog.Logger) (client.Client, error) {
	if t.Address == "" {
		return nil, errors.New("app: no Temporal address")
	}
	opts := client.Options{HostPort: t.Address, Namespace: t.Namespace, MetricsHandler: t.Metrics}
	if log != nil {
		opts.Logger = sdklog.NewStructuredLogger(log)
	} else {
		opts.Logger = sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	}
	tc, err := t.tlsConfig()
	if err != nil {
		return nil, fmt.Errorf("app: temporal TLS: %w", err)
	}
	opts.ConnectionOptions.TLS = tc
	if isLoopback(t.Address) {
		opts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	}
	if t.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(t.APIKey)
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("app: temporal at %s: %w", t.Address, err)
	}
	return c, nil
}

// isLoopback reports whether the host of hostPort is a loopback address
// or "localhost". The SDK gzips every request and the server every reply
// by default; between processes on one machine (the dev stack, the bench,
// a worker beside its server) that only costs CPU: compressing and
// decompressing was 3-4% of `ivrflow bench`'s.
func isLoopback(hostPort string) bool {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		host = hostPort
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (t Temporal) tlsConfig() (*tls.Config, error) {
	if !t.TLS && t.APIKey == "" && t.TLSCert == "" && t.TLSKey == "" && t.TLSCA == "" {
		return nil, nil
	}
	c := &tls.Config{ServerName: t.TLSServerName, MinVersion: tls.VersionTLS12}
	if (t.TLSCert == "") != (t.TLSKey == "") {
		return nil, errors.New("a client certificate needs both the certificate and the key file")
	}
	if t.TLSCert != "" {
		pair, err := tls.LoadX509KeyPair(t.TLSCert, t.TLSKey)
		if err != nil {
			return nil, err
		}
		c.Certificates = []tls.Certificate{pair}
	}
	if t.TLSCA != "" {
		pem, err := os.ReadFile(t.TLSCA)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", t.TLSCA)
		}
		c.RootCAs = pool
	}
	return c, nil
}

// SearchAttributes are the custom search attributes call workflows keep,
// all of type Keyword.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	m := map[string]enumspb.IndexedValueType{}
	for _, n := range workflows.SearchAttributeNames() {
		m[n] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	return m
}

// EnsureSearchAttributes registers in namespace the search attributes
// that are missing. It fails when one exists with another type, or when
// the cluster refuses (Temporal Cloud registers them through its own
// console or tcld).
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("app: list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	var wrong []string
	for name, typ := range SearchAttributes() {
		got, ok := have.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = typ
		case got != typ:
			wrong = append(wrong, fmt.Sprintf("%s is %s, not %s", name, got, typ))
		}
	}
	if len(wrong) > 0 {
		slices.Sort(wrong)
		return fmt.Errorf("app: search attributes of namespace %s: %v", namespace, wrong)
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing}); err != nil {
		return fmt.Errorf("app: register search attributes in namespace %s: %w", namespace, err)
	}
	return nil
}
