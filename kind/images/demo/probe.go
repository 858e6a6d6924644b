// The demo app's commands for checking what a process sees (the syscall mode's tests run them
// on this machine under mirrord, as a static Go program): `demo udp HOST:PORT MSG` sends MSG
// from an unconnected UDP socket and prints the answer and who it came from, `demo read PATH`
// prints a file, `demo write PATH TEXT` writes one, `demo env NAME` prints a variable, and
// `demo child ARGS...` runs the demo app again with ARGS and prints what that printed.
package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"time"
)

// udp sends from an unconnected socket (sendto with the address, as a client of several
// servers does) and prints the first answer, and its sender (which a client of several servers
// tells them apart by).
func udp(address, message string) error {
	to, err := net.ResolveUDPAddr("udp", address)
	if err != nil {
		return err
	}
	conn, err := net.ListenPacket("udp", ":0")
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	if _, err := conn.WriteTo([]byte(message), to); err != nil {
		return err
	}
	answer := make([]byte, 1500)
	n, from, err := conn.ReadFrom(answer)
	if err != nil {
		return err
	}
	fmt.Printf("udp %s from %s\n", answer[:n], from)
	return nil
}

func read(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	fmt.Print(string(data))
	return nil
}

func write(path, text string) error {
	return os.WriteFile(path, []byte(text+"\n"), 0o644)
}

func child(args []string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	out, err := exec.Command(self, args...).CombinedOutput()
	fmt.Printf("child: %s", out)
	return err
}
