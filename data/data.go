// Package data holds the data zhufang needs at run time, embedded in the
// binary: the Yongzhou county boundaries and division tables (yongzhou/)
// and the 110 incident category table (codes/). Each folder's SOURCE.md
// gives the provenance and licence. A folder of the same layout, for
// another city, replaces them with Open.
package data

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"zhufang"
)

//go:embed yongzhou codes
var files embed.FS

// FS is the embedded data, laid out as the shared data folder was:
// yongzhou/431100_full.json, yongzhou/counties.csv, yongzhou/townships.csv,
// yongzhou/population_2020.csv and codes/incident_categories.csv.
var FS fs.FS = files

// required are the files the run-time readers open.
var required = []string{
	"yongzhou/431100_full.json",
	"yongzhou/counties.csv",
	"yongzhou/townships.csv",
	"codes/incident_categories.csv",
}

// Open returns the data in the folder dir, or the embedded data when dir is
// empty. It checks that dir holds every file the readers need, and names
// the missing ones.
func Open(dir string) (fs.FS, error) {
	if dir == "" {
		return FS, nil
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("data folder %s does not exist", dir)
	case err != nil:
		return nil, fmt.Errorf("data folder: %w", err)
	case !st.IsDir():
		return nil, fmt.Errorf("data folder %s is not a folder", dir)
	}
	fsys := os.DirFS(dir)
	var missing []string
	for _, name := range required {
		if _, err := fs.Stat(fsys, name); err != nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("data folder %s lacks %s", dir, strings.Join(missing, ", "))
	}
	return fsys, nil
}

// Categories reads the 110 incident category table from fsys, the
// embedded data or a folder Open gave.
func Categories(fsys fs.FS) (*zhufang.Categories, error) {
	const name = "codes/incident_categories.csv"
	f, err := fsys.Open(name)
	if err != nil {
		return nil, zhufang.WrapError(zhufang.EUNAVAILABLE, "cannot read the 110 category table "+name, err)
	}
	defer f.Close()
	cats, err := zhufang.ParseCategories(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return cats, nil
}
