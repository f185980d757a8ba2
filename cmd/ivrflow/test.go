package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ivrflow/ivrflow/flowtest"
)

// cmdTest runs scenario files (NAME.test.yaml beside NAME.yaml) on
// simulated calls.
func cmdTest(_ context.Context, e *env, args []string) int {
	fs := helpFor(e, "test")
	verbose := fs.Bool("v", false, "list every scenario, not only failures")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	paths := fs.Args()
	if len(paths) == 0 {
		paths = []string{"flows"}
	}
	var files []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			fmt.Fprintf(e.stderr, "ivrflow test: %v\n", err)
			return 1
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		found, _ := filepath.Glob(filepath.Join(p, "*.test.yaml"))
		files = append(files, found...)
	}
	slices.Sort(files)
	if len(files) == 0 {
		fmt.Fprintf(e.stderr, "ivrflow test: no scenario files (*.test.yaml) in %s\n", strings.Join(paths, ", "))
		return 1
	}
	passed, failed := 0, 0
	for _, f := range files {
		results, err := flowtest.RunFile(f)
		if err != nil {
			fmt.Fprintf(e.stderr, "%v\n", err)
			failed++
			continue
		}
		for _, r := range results {
			if len(r.Failures) == 0 {
				passed++
				if *verbose {
					fmt.Fprintf(e.stdout, "ok    %s  %s (%s simulated)\n", r.Pos, r.Scenario, r.Took)
				}
				continue
			}
			failed++
			fmt.Fprintf(e.stderr, "FAIL  %s: %s\n", r.Pos, r.Scenario)
			for _, fl := range r.Failures {
				fmt.Fprintf(e.stderr, "      %s\n", fl)
			}
		}
	}
	fmt.Fprintf(e.stdout, "%d scenario%s passed, %d failed\n", passed, plural(passed), failed)
	if failed > 0 {
		return 1
	}
	return 0
}
