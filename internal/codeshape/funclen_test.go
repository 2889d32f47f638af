package codeshape

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// maxLines is the longest a function may be, from its func keyword to its
// closing brace.
const maxLines = 80

// exceptions are the functions known to be longer, each with the work
// that splits it. An entry whose function is gone or short again is
// logged, so it can be removed; it never fails the test.
// Keyed "dir.Func" or "dir.(*Recv).Method", as the failures print them.
var exceptions = map[string]string{}

// long is one function over the limit.
type long struct {
	key, pos string
	lines    int
}

// TestFunctionLength parses every non-test Go file of the module and
// refuses a function (or function literal outside one) over maxLines.
func TestFunctionLength(t *testing.T) {
	found := longFunctions(t, "../..")
	seen := map[string]bool{}
	for _, f := range found {
		seen[f.key] = true
		if why, ok := exceptions[f.key]; ok {
			t.Logf("%s: %s is %d lines (known: %s)", f.pos, f.key, f.lines, why)
			continue
		}
		t.Errorf("%s: %s is %d lines, over %d: split it by phase", f.pos, f.key, f.lines, maxLines)
	}
	for key := range exceptions {
		if !seen[key] {
			t.Logf("exception %s is stale (the function is gone or short): remove it", key)
		}
	}
}

// TestFunctionLengthCounts checks the counter on a known source, so the
// test above cannot pass by measuring nothing.
func TestFunctionLengthCounts(t *testing.T) {
	src := "package p\n\nfunc short() {}\n\nfunc (r *T) long() {\n" + strings.Repeat("\t_ = 1\n", maxLines-1) + "}\n\nvar f = func() {\n" + strings.Repeat("\t_ = 1\n", maxLines) + "}\n"
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, f := range inspect(fset, file, "p") {
		got[f.key] = f.lines
	}
	if len(got) != 2 || got["p.(*T).long"] != maxLines+1 || got["p.func literal"] != maxLines+2 {
		t.Fatalf("long functions %v; want (*T).long at %d lines and the literal at %d", got, maxLines+1, maxLines+2)
	}
}

// longFunctions walks root's Go files, skipping tests, testdata and
// hidden folders.
func longFunctions(t *testing.T, root string) []long {
	t.Helper()
	fset := token.NewFileSet()
	var found []long
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (d.Name() == "testdata" || d.Name() == "vendor" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		if ast.IsGenerated(file) {
			return nil
		}
		files++
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		found = append(found, inspect(fset, file, filepath.ToSlash(rel))...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("only %d Go files under %s: the walk missed the module", files, root)
	}
	return found
}

// inspect returns the functions of file over maxLines, keyed
// "dir.Func", "dir.(*Recv).Method" or "dir.func literal".
func inspect(fset *token.FileSet, file *ast.File, dir string) []long {
	var found []long
	ast.Inspect(file, func(n ast.Node) bool {
		var name string
		var body *ast.BlockStmt
		switch fn := n.(type) {
		case *ast.FuncDecl:
			name, body = funcName(fn), fn.Body
		case *ast.FuncLit:
			name, body = "func literal", fn.Body
		default:
			return true
		}
		if body == nil {
			return true
		}
		start, end := fset.Position(n.Pos()), fset.Position(body.Rbrace)
		if lines := end.Line - start.Line + 1; lines > maxLines {
			found = append(found, long{key: dir + "." + name, pos: start.String(), lines: lines})
		}
		return true
	})
	return found
}

func funcName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	typ := fn.Recv.List[0].Type
	star := ""
	if s, ok := typ.(*ast.StarExpr); ok {
		star, typ = "*", s.X
	}
	if g, ok := typ.(*ast.IndexExpr); ok { // a generic receiver, T[K]
		typ = g.X
	}
	if g, ok := typ.(*ast.IndexListExpr); ok {
		typ = g.X
	}
	id, _ := typ.(*ast.Ident)
	if id == nil {
		return fn.Name.Name
	}
	if star != "" {
		return "(" + star + id.Name + ")." + fn.Name.Name
	}
	return id.Name + "." + fn.Name.Name
}
