package zhufang

// Administrative codes. GB/T 2260 gives six digits to provinces, prefectures
// and counties; the statistical division code extends them with three digits
// for the township (street office, town or township) and three for the
// community or village, twelve in all.

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// ValidateDivisionCode checks a six-digit GB/T 2260 code of a prefecture
// (ending in 00) or of a county-level division.
func ValidateDivisionCode(code string) error {
	if len(code) != 6 || !allDigits(code) {
		return Errorf(EINVALID, "administrative code %q must be 6 digits (GB/T 2260)", code)
	}
	if code[:2] < "11" || code[:2] > "82" {
		return Errorf(EINVALID, "administrative code %q names no province (first two digits must be 11..82)", code)
	}
	if code[2:] == "0000" {
		return Errorf(EINVALID, "administrative code %q is a province, not a city or county", code)
	}
	if code[2:4] == "00" {
		return Errorf(EINVALID, "administrative code %q has no prefecture part", code)
	}
	return nil
}

// ValidateCountyCode checks a six-digit code of a county-level division (not
// a prefecture).
func ValidateCountyCode(code string) error {
	if err := ValidateDivisionCode(code); err != nil {
		return err
	}
	if code[4:] == "00" {
		return Errorf(EINVALID, "administrative code %q is a prefecture, not a county", code)
	}
	return nil
}

// ValidateTownshipCode checks a nine-digit township code under county.
func ValidateTownshipCode(code, county string) error {
	if len(code) != 9 || !allDigits(code) {
		return Errorf(EINVALID, "township code %q must be 9 digits", code)
	}
	if err := ValidateCountyCode(code[:6]); err != nil {
		return err
	}
	if county != "" && code[:6] != county {
		return Errorf(EINVALID, "township code %q does not lie in county %s", code, county)
	}
	if code[6:] == "000" {
		return Errorf(EINVALID, "township code %q has no township part", code)
	}
	return nil
}

// ValidateCommunityCode checks a twelve-digit community or village code
// under county.
func ValidateCommunityCode(code, county string) error {
	if len(code) != 12 || !allDigits(code) {
		return Errorf(EINVALID, "community code %q must be 12 digits", code)
	}
	if err := ValidateTownshipCode(code[:9], county); err != nil {
		return err
	}
	if code[9:] == "000" {
		return Errorf(EINVALID, "community code %q has no community part", code)
	}
	return nil
}
