package zhufang_test

import (
	"testing"

	"zhufang"
)

func TestAdministrativeCodes(t *testing.T) {
	tests := []struct {
		name string
		err  error
		ok   bool
	}{
		{"county", zhufang.ValidateCountyCode("431103"), true},
		{"county-level city", zhufang.ValidateCountyCode("431181"), true},
		{"statistical zone", zhufang.ValidateCountyCode("431171"), true},
		{"prefecture is no county", zhufang.ValidateCountyCode("431100"), false},
		{"province is no county", zhufang.ValidateCountyCode("430000"), false},
		{"no such province", zhufang.ValidateCountyCode("991103"), false},
		{"five digits", zhufang.ValidateCountyCode("43110"), false},
		{"letters", zhufang.ValidateCountyCode("43110X"), false},
		{"prefecture", zhufang.ValidateDivisionCode("431100"), true},
		{"township", zhufang.ValidateTownshipCode("431103001", "431103"), true},
		{"township of another county", zhufang.ValidateTownshipCode("431102001", "431103"), false},
		{"township 000", zhufang.ValidateTownshipCode("431103000", ""), false},
		{"community", zhufang.ValidateCommunityCode("431103001201", "431103"), true},
		{"community 000", zhufang.ValidateCommunityCode("431103001000", "431103"), false},
		{"community too long", zhufang.ValidateCommunityCode("4311030012011", "431103"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.ok && tt.err != nil {
				t.Fatalf("refused: %v", tt.err)
			}
			if !tt.ok && zhufang.ErrorCode(tt.err) != zhufang.EINVALID {
				t.Fatalf("got %v, want EINVALID", tt.err)
			}
		})
	}
}
