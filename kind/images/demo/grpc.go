// The demo app's gRPC service, demo.Echo (test/fixtures/grpc-echo.js's, with the same JSON
// messages, so no .proto is needed), of all four kinds: `demo serve` serves it on $GRPC_PORT
// (50051) besides HTTP, `demo grpc-serve NAME PORT` alone (printing `grpc listening on PORT`, and
// `cancelled METHOD` for each call it sees cancelled), and `demo grpc-call HOST:PORT USER` makes
// one call of each kind with the metadata x-user: USER, one past its deadline and one it cancels,
// on one connection, and prints what each got as JSON (as grpc-client.js does).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// jsonCodec carries messages as JSON, as grpc-echo.js does: no .proto needed.
type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
func (jsonCodec) Name() string                       { return "json" }

type text struct {
	From string `json:"from,omitempty"`
	Text string `json:"text"`
}

type countRequest struct {
	UpTo int `json:"upTo"`
}

type counted struct {
	From string `json:"from"`
	N    int    `json:"n"`
}

type echo struct{ name string }

func cancelled(method string) { fmt.Printf("cancelled %s\n", method) }

func (e echo) unary(_ any, ctx context.Context, decode func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
	var request text
	if err := decode(&request); err != nil {
		return nil, err
	}
	delay := 0
	if values := metadata.ValueFromIncomingContext(ctx, "x-delay-ms"); len(values) > 0 {
		delay, _ = strconv.Atoi(values[0])
	}
	select {
	case <-time.After(time.Duration(delay) * time.Millisecond):
		return &text{From: e.name, Text: request.Text}, nil
	case <-ctx.Done():
		cancelled("Unary")
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

func (e echo) count(_ any, stream grpc.ServerStream) error {
	var request countRequest
	if err := stream.RecvMsg(&request); err != nil {
		return err
	}
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	for n := 0; n < request.UpTo; n++ {
		select {
		case <-ticker.C:
			if err := stream.SendMsg(&counted{From: e.name, N: n}); err != nil {
				return err
			}
		case <-stream.Context().Done():
			cancelled("Count")
			return stream.Context().Err()
		}
	}
	return nil
}

func (e echo) join(_ any, stream grpc.ServerStream) error {
	var texts []string
	for {
		var message text
		err := stream.RecvMsg(&message)
		if errors.Is(err, io.EOF) {
			return stream.SendMsg(&text{From: e.name, Text: strings.Join(texts, ",")})
		}
		if err != nil {
			return err
		}
		texts = append(texts, message.Text)
	}
}

func (e echo) chat(_ any, stream grpc.ServerStream) error {
	for {
		var message text
		err := stream.RecvMsg(&message)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.SendMsg(&text{From: e.name, Text: strings.ToUpper(message.Text)}); err != nil {
			return err
		}
	}
}

func grpcServe(name, port string) error {
	e := echo{name}
	server := grpc.NewServer(grpc.ForceServerCodec(jsonCodec{}))
	server.RegisterService(&grpc.ServiceDesc{
		ServiceName: "demo.Echo",
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "Unary", Handler: e.unary}},
		Streams: []grpc.StreamDesc{
			{StreamName: "Count", Handler: e.count, ServerStreams: true},
			{StreamName: "Join", Handler: e.join, ClientStreams: true},
			{StreamName: "Chat", Handler: e.chat, ServerStreams: true, ClientStreams: true},
		},
	}, e)
	listener, err := net.Listen("tcp", ":"+port)
	if err != nil {
		return err
	}
	fmt.Printf("grpc listening on %d\n", listener.Addr().(*net.TCPAddr).Port)
	return server.Serve(listener)
}

// outcome is what a call got: its answer, or its status code as gRPC names it (grpc-js's spelling).
func outcome(answer any, err error) any {
	if err != nil {
		return map[string]string{"code": code.Code_name[int32(status.Code(err))]}
	}
	return answer
}

func grpcCall(address, user string) error {
	conn, err := grpc.NewClient("passthrough:///"+address, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDefaultCallOptions(grpc.ForceCodec(jsonCodec{})))
	if err != nil {
		return err
	}
	defer conn.Close()
	withUser := func(pairs ...string) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		return metadata.AppendToOutgoingContext(ctx, append([]string{"x-user", user}, pairs...)...), cancel
	}
	stream := func(ctx context.Context, method string, server, client bool) (grpc.ClientStream, error) {
		return conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: server, ClientStreams: client}, "/demo.Echo/"+method)
	}
	results := map[string]any{}

	ctx, cancel := withUser()
	var reply text
	results["unary"] = outcome(&reply, conn.Invoke(ctx, "/demo.Echo/Unary", &text{Text: "hi"}, &reply))
	cancel()

	results["count"] = func() any {
		ctx, cancel := withUser()
		defer cancel()
		s, err := stream(ctx, "Count", true, false)
		return exchange(s, err, []any{&countRequest{UpTo: 3}}, func(m *counted) any { return fmt.Sprintf("%s:%d", m.From, m.N) })
	}()

	results["join"] = func() any {
		ctx, cancel := withUser()
		defer cancel()
		s, err := stream(ctx, "Join", false, true)
		// One answer, as a unary call's.
		answers := exchange(s, err, []any{&text{Text: "a"}, &text{Text: "b"}, &text{Text: "c"}}, func(m *text) any { return m })
		if joined, ok := answers.([]any); ok && len(joined) == 1 {
			return joined[0]
		}
		return answers
	}()

	results["chat"] = func() any {
		ctx, cancel := withUser()
		defer cancel()
		s, err := stream(ctx, "Chat", true, true)
		return exchange(s, err, []any{&text{Text: "x"}, &text{Text: "y"}}, func(m *text) any { return m.From + ":" + m.Text })
	}()

	results["pastDeadline"] = func() any {
		ctx, cancel := withUser("x-delay-ms", "3000")
		defer cancel()
		ctx, cancelSooner := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancelSooner()
		var reply text
		return outcome(&reply, conn.Invoke(ctx, "/demo.Echo/Unary", &text{Text: "slow"}, &reply))
	}()

	results["cancelled"] = func() any {
		ctx, cancel := withUser()
		defer cancel()
		s, err := stream(ctx, "Count", true, false)
		if err == nil {
			err = s.SendMsg(&countRequest{UpTo: 1000})
		}
		if err == nil {
			err = s.CloseSend()
		}
		var first counted
		if err == nil {
			err = s.RecvMsg(&first)
		}
		if err != nil {
			return outcome(nil, err)
		}
		cancel()
		for err == nil {
			err = s.RecvMsg(&first)
		}
		return outcome(nil, err)
	}()

	return json.NewEncoder(os.Stdout).Encode(results)
}

// exchange sends `sent` on a call's stream (opened with `err`), ends the sending side, and gives
// each answer as `show` renders it, until the call ends; or, when it fails, its status code.
func exchange[T any](s grpc.ClientStream, err error, sent []any, show func(*T) any) any {
	for _, message := range sent {
		if err == nil {
			err = s.SendMsg(message)
		}
	}
	if err == nil {
		err = s.CloseSend()
	}
	seen := []any{}
	for err == nil {
		var message T
		if err = s.RecvMsg(&message); err == nil {
			seen = append(seen, show(&message))
		}
	}
	if errors.Is(err, io.EOF) {
		return seen
	}
	return outcome(nil, err)
}
