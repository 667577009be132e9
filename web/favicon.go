package web

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"net/http"
)

// faviconICO draws the console's icon for browsers that ask for
// /favicon.ico whatever the page links: a navy shield with a white
// cross-bar, as the SVG icon (static/favicon.svg) draws it, 32×32, as a
// PNG inside an ICO container (which every browser since 2007 reads).
func faviconICO() []byte {
	const n = 32
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	navy := color.NRGBA{0x0f, 0x34, 0x60, 0xff}
	red := color.NRGBA{0xc0, 0x21, 0x2b, 0xff}
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			// The shield: straight sides to two thirds down, then a point.
			half := 13.0
			if fy := float64(y); fy > 20 {
				half = 13 * (30 - fy) / 10
			}
			dx := float64(x) + 0.5 - 16
			if y < 2 || y > 30 || dx < -half || dx > half {
				continue
			}
			c := navy
			if y >= 13 && y <= 17 && dx > -8 && dx < 8 || dx > -2.5 && dx < 2.5 && y >= 7 && y <= 23 {
				c = white
			}
			if y < 5 {
				c = red
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var pb bytes.Buffer
	png.Encode(&pb, img) // to a buffer: cannot fail
	var b bytes.Buffer
	le := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	le([3]uint16{0, 1, 1})                  // reserved, type icon, one image
	le([4]uint8{n, n, 0, 0})                // width, height, no palette, reserved
	le([2]uint16{1, 32})                    // colour planes, bits per pixel
	le([2]uint32{uint32(pb.Len()), 6 + 16}) // size, offset of the PNG
	b.Write(pb.Bytes())
	return b.Bytes()
}

// serveFavicon answers /favicon.ico with the icon drawn at start-up.
func serveFavicon(ico []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/x-icon")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Write(ico)
	}
}
