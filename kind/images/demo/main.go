// The demo app of the cluster's smoke test, a static binary for a FROM-scratch image:
// `demo serve` answers HTTP/1.1 and h2c on $PORT (8080) and gRPC on $GRPC_PORT (grpc.go), and
// `demo get URL` resolves the URL's host with the pod's resolv.conf and fetches it, so a pod of
// the same image can be the client; probe.go's commands show what a process sees.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"
)

func serve() error {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	// $DEMO_NAME, else the host name: a copy run elsewhere (under mirrord) can say it is another.
	host := os.Getenv("DEMO_NAME")
	if host == "" {
		host, _ = os.Hostname()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// Who the connection came from, as the server sees it.
		if client, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			w.Header().Set("X-Client", client)
		}
		fmt.Fprintf(w, "hello from %s (%s %s)\n", host, r.Method, r.URL.Path)
	})
	// HTTP/1.1, and HTTP/2 in cleartext for clients with prior knowledge (h2c), as gRPC services
	// and meshes speak inside a cluster.
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	server := &http.Server{Addr: ":" + port, Handler: mux, Protocols: &protocols}
	grpcPort := os.Getenv("GRPC_PORT")
	if grpcPort == "" {
		grpcPort = "50051"
	}
	failed := make(chan error, 1)
	go func() { failed <- grpcServe(host, grpcPort) }()
	go func() {
		fmt.Printf("listening on :%s\n", port)
		failed <- server.ListenAndServe()
	}()
	return <-failed
}

func get(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, u.Hostname())
	if err != nil {
		return fmt.Errorf("resolve %s: %w", u.Hostname(), err)
	}
	fmt.Printf("resolved %s to %v\n", u.Hostname(), addrs)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	fmt.Printf("status %d\n%s", res.StatusCode, body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}

func main() {
	var err error
	switch {
	case len(os.Args) >= 2 && os.Args[1] == "serve":
		err = serve()
	case len(os.Args) == 3 && os.Args[1] == "get":
		err = get(os.Args[2])
	case len(os.Args) == 4 && os.Args[1] == "grpc-serve":
		err = grpcServe(os.Args[2], os.Args[3])
	case len(os.Args) == 4 && os.Args[1] == "grpc-call":
		err = grpcCall(os.Args[2], os.Args[3])
	case len(os.Args) == 4 && os.Args[1] == "udp":
		err = udp(os.Args[2], os.Args[3])
	case len(os.Args) == 3 && os.Args[1] == "read":
		err = read(os.Args[2])
	case len(os.Args) == 4 && os.Args[1] == "write":
		err = write(os.Args[2], os.Args[3])
	case len(os.Args) == 3 && os.Args[1] == "env":
		fmt.Printf("%s=%s\n", os.Args[2], os.Getenv(os.Args[2]))
	case len(os.Args) >= 3 && os.Args[1] == "child":
		err = child(os.Args[2:])
	default:
		err = fmt.Errorf("usage: demo serve | get URL | grpc-serve NAME PORT | grpc-call HOST:PORT USER | udp HOST:PORT MSG | read PATH | write PATH TEXT | env NAME | child ARGS...")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
