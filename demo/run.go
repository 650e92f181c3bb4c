package demo

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"text/template"
	"time"
)

//go:embed config.yaml.tmpl
var configTemplate string

// Backends are the demo's monolith and its extracted orders and catalog
// services, listening on loopback.
type Backends struct {
	LegacyURL  string
	OrdersURL  string
	CatalogURL string
	// Faults and CatalogFaults steer the services at run time (also over
	// HTTP: POST /_demo/faults on each service).
	Faults        *Faults
	CatalogFaults *Faults
	servers       []*http.Server
	done          chan error
}

// StartBackends starts the monolith and the orders service on free
// loopback ports. Stop them with Close.
func StartBackends() (*Backends, error) {
	b := &Backends{Faults: &Faults{}, CatalogFaults: &Faults{}, done: make(chan error, 3)}
	b.CatalogFaults.SetBug(false) // the catalog starts healthy
	var err error
	if b.LegacyURL, err = b.start(NewMonolith()); err != nil {
		return nil, err
	}
	if b.OrdersURL, err = b.start(withFaultsEndpoint(NewOrdersWithFaults(b.Faults), b.Faults)); err != nil {
		b.Close()
		return nil, err
	}
	if b.CatalogURL, err = b.start(withFaultsEndpoint(NewCatalogWithFaults(b.CatalogFaults), b.CatalogFaults)); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func (b *Backends) start(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("starting demo backend: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	b.servers = append(b.servers, srv)
	go func() { b.done <- srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// Close stops the backends and waits for their serve loops to end.
func (b *Backends) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range b.servers {
		_ = s.Shutdown(ctx)
	}
	for range b.servers {
		<-b.done // http.ErrServerClosed, or the error that ended the loop
	}
	b.servers = nil
}

// Config renders the demo's route file for these backends, with the
// proxy listening on listen and the admin API on adminListen.
func (b *Backends) Config(listen, adminListen string) ([]byte, error) {
	t, err := template.New("demo").Parse(configTemplate)
	if err != nil {
		return nil, fmt.Errorf("parsing demo config template: %w", err)
	}
	var out bytes.Buffer
	err = t.Execute(&out, map[string]string{"Listen": listen, "AdminListen": adminListen,
		"LegacyURL": b.LegacyURL, "OrdersURL": b.OrdersURL, "CatalogURL": b.CatalogURL})
	if err != nil {
		return nil, fmt.Errorf("rendering demo config: %w", err)
	}
	return out.Bytes(), nil
}

// WriteConfig writes the demo config into a new temporary directory and
// returns the file's path; remove the directory when done.
func (b *Backends) WriteConfig(listen, adminListen string) (string, error) {
	data, err := b.Config(listen, adminListen)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "strangler-demo-")
	if err != nil {
		return "", fmt.Errorf("creating demo config dir: %w", err)
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("writing demo config: %w", err)
	}
	return path, nil
}
