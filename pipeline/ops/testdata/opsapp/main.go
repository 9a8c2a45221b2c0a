// Command opsapp is the app pipeline/ops's tests deploy. Served, it
// answers /healthz and /version and logs every other request it gets, so
// a test makes log lines on demand. Its subcommands play one-off
// commands for exec:
//
//	opsapp health        exit 0 if GET /healthz on the local server answers 200
//	opsapp env NAME      print $NAME (exit 2 if it is not set)
//	opsapp exit N        exit with code N, after printing a line
//	opsapp get URL       print what GET URL answers
//	opsapp sleep D       sleep for D
//
// OPSAPP_VERSION names the version it serves and logs.
package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) > 1 {
		os.Exit(run(os.Args[1:]))
	}
	version := os.Getenv("OPSAPP_VERSION")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, version+"\n") })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		log.Printf("opsapp %s request %s %s", version, r.Method, r.URL.Path)
		_, _ = io.WriteString(w, "hello from "+version+"\n")
	})
	log.Printf("opsapp %s listening on :%s", version, port())
	srv := &http.Server{Addr: ":" + port(), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

func port() string {
	if p := os.Getenv("PORT"); p != "" {
		return p
	}
	return "8080"
}

func run(args []string) int {
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	switch args[0] {
	case "health":
		return get("http://127.0.0.1:" + port() + "/healthz")
	case "env":
		v, ok := os.LookupEnv(arg(1))
		if !ok {
			fmt.Fprintf(os.Stderr, "%s is not set\n", arg(1))
			return 2
		}
		fmt.Println(v)
		return 0
	case "exit":
		n, err := strconv.Atoi(arg(1))
		if err != nil {
			fmt.Fprintln(os.Stderr, "exit: want a number")
			return 2
		}
		fmt.Printf("exiting with %d\n", n)
		return n
	case "get":
		return get(arg(1))
	case "sleep":
		d, err := time.ParseDuration(arg(1))
		if err != nil {
			fmt.Fprintln(os.Stderr, "sleep: want a duration")
			return 2
		}
		time.Sleep(d)
		return 0
	}
	fmt.Fprintf(os.Stderr, "unknown subcommand %q\n", args[0])
	return 2
}

func get(url string) int {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(os.Stdout, resp.Body)
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(os.Stderr, resp.Status)
		return 1
	}
	return 0
}
