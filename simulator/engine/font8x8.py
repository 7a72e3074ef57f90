"""An 8x8 bitmap font for printable ASCII and Latin-1, so the renderer draws text the same whatever is installed,
and a French, German or Spanish prompt ("café", "Straße", "niño") shows its own letters.

The glyphs are Daniel Hepper's font8x8_basic and font8x8_ext_latin (https://github.com/dhepper/font8x8, public
domain), themselves from the public-domain IBM VGA fonts by way of Marcel Sondaar's font8_8. Each glyph is eight
rows, top first; in each row's byte the least significant bit is the leftmost pixel. A character the font lacks is
drawn as a hollow box, so a prompt in any other script still shows where its letters are.
"""

from __future__ import annotations

FIRST = 0x20
"""The code point of the first glyph (space); the table runs to U+007E (~)."""

PLACEHOLDER = bytes.fromhex("007E424242427E00")
"""A hollow box for every character outside printable ASCII and Latin-1 (and for control characters)."""

GLYPHS: tuple[bytes, ...] = tuple(
    bytes.fromhex(rows)
    for rows in (
        "0000000000000000",  # U+0020 space
        "183C3C1818001800",  # U+0021 !
        "3636000000000000",  # U+0022 double quote
        "36367F367F363600",  # U+0023 #
        "0C3E031E301F0C00",  # U+0024 $
        "006333180C666300",  # U+0025 %
        "1C361C6E3B336E00",  # U+0026 &
        "0606030000000000",  # U+0027 '
        "180C0606060C1800",  # U+0028 (
        "060C1818180C0600",  # U+0029 )
        "00663CFF3C660000",  # U+002A *
        "000C0C3F0C0C0000",  # U+002B +
        "00000000000C0C06",  # U+002C ,
        "0000003F00000000",  # U+002D -
        "00000000000C0C00",  # U+002E .
        "6030180C06030100",  # U+002F /
        "3E63737B6F673E00",  # U+0030 0
        "0C0E0C0C0C0C3F00",  # U+0031 1
        "1E33301C06333F00",  # U+0032 2
        "1E33301C30331E00",  # U+0033 3
        "383C36337F307800",  # U+0034 4
        "3F031F3030331E00",  # U+0035 5
        "1C06031F33331E00",  # U+0036 6
        "3F3330180C0C0C00",  # U+0037 7
        "1E33331E33331E00",  # U+0038 8
        "1E33333E30180E00",  # U+0039 9
        "000C0C00000C0C00",  # U+003A :
        "000C0C00000C0C06",  # U+003B ;
        "180C0603060C1800",  # U+003C <
        "00003F00003F0000",  # U+003D =
        "060C1830180C0600",  # U+003E >
        "1E3330180C000C00",  # U+003F ?
        "3E637B7B7B031E00",  # U+0040 @
        "0C1E33333F333300",  # U+0041 A
        "3F66663E66663F00",  # U+0042 B
        "3C66030303663C00",  # U+0043 C
        "1F36666666361F00",  # U+0044 D
        "7F46161E16467F00",  # U+0045 E
        "7F46161E16060F00",  # U+0046 F
        "3C66030373667C00",  # U+0047 G
        "3333333F33333300",  # U+0048 H
        "1E0C0C0C0C0C1E00",  # U+0049 I
        "7830303033331E00",  # U+004A J
        "6766361E36666700",  # U+004B K
        "0F06060646667F00",  # U+004C L
        "63777F7F6B636300",  # U+004D M
        "63676F7B73636300",  # U+004E N
        "1C36636363361C00",  # U+004F O
        "3F66663E06060F00",  # U+0050 P
        "1E3333333B1E3800",  # U+0051 Q
        "3F66663E36666700",  # U+0052 R
        "1E33070E38331E00",  # U+0053 S
        "3F2D0C0C0C0C1E00",  # U+0054 T
        "3333333333333F00",  # U+0055 U
        "33333333331E0C00",  # U+0056 V
        "6363636B7F776300",  # U+0057 W
        "6363361C1C366300",  # U+0058 X
        "3333331E0C0C1E00",  # U+0059 Y
        "7F6331184C667F00",  # U+005A Z
        "1E06060606061E00",  # U+005B [
        "03060C1830604000",  # U+005C backslash
        "1E18181818181E00",  # U+005D ]
        "081C366300000000",  # U+005E ^
        "00000000000000FF",  # U+005F _
        "0C0C180000000000",  # U+0060 `
        "00001E303E336E00",  # U+0061 a
        "0706063E66663B00",  # U+0062 b
        "00001E3303331E00",  # U+0063 c
        "3830303E33336E00",  # U+0064 d
        "00001E333F031E00",  # U+0065 e
        "1C36060F06060F00",  # U+0066 f
        "00006E33333E301F",  # U+0067 g
        "0706366E66666700",  # U+0068 h
        "0C000E0C0C0C1E00",  # U+0069 i
        "300030303033331E",  # U+006A j
        "070666361E366700",  # U+006B k
        "0E0C0C0C0C0C1E00",  # U+006C l
        "0000337F7F6B6300",  # U+006D m
        "00001F3333333300",  # U+006E n
        "00001E3333331E00",  # U+006F o
        "00003B66663E060F",  # U+0070 p
        "00006E33333E3078",  # U+0071 q
        "00003B6E66060F00",  # U+0072 r
        "00003E031E301F00",  # U+0073 s
        "080C3E0C0C2C1800",  # U+0074 t
        "0000333333336E00",  # U+0075 u
        "00003333331E0C00",  # U+0076 v
        "0000636B7F7F3600",  # U+0077 w
        "000063361C366300",  # U+0078 x
        "00003333333E301F",  # U+0079 y
        "00003F190C263F00",  # U+007A z
        "380C0C070C0C3800",  # U+007B {
        "1818180018181800",  # U+007C |
        "070C0C380C0C0700",  # U+007D }
        "6E3B000000000000",  # U+007E ~
    )
)

LATIN1_FIRST = 0xA0
"""The code point of the first Latin-1 glyph (no-break space); the table runs to U+00FF (y with diaeresis)."""

LATIN1_GLYPHS: tuple[bytes, ...] = tuple(
    bytes.fromhex(rows)
    for rows in (
        "0000000000000000",  # U+00A0 no-break space
        "1818001818181800",  # U+00A1 inverted exclamation mark
        "18187E03037E1818",  # U+00A2 cent sign
        "1C36260F06673F00",  # U+00A3 pound sign
        "0000633E363E6300",  # U+00A4 currency sign
        "33331E3F0C3F0C0C",  # U+00A5 yen sign
        "1818180018181800",  # U+00A6 broken bar
        "7CC61C36361C331E",  # U+00A7 section sign
        "3300000000000000",  # U+00A8 diaeresis
        "3C4299858599423C",  # U+00A9 copyright sign
        "3C36367C00000000",  # U+00AA feminine ordinal indicator
        "00CC663366CC0000",  # U+00AB left-pointing double angle quotation mark
        "0000003F30300000",  # U+00AC not sign
        "0000000000000000",  # U+00AD soft hyphen
        "3C429DA59DA5423C",  # U+00AE registered sign
        "7E00000000000000",  # U+00AF macron
        "1C36361C00000000",  # U+00B0 degree sign
        "18187E1818007E00",  # U+00B1 plus-minus sign
        "1C30180C3C000000",  # U+00B2 superscript two
        "1C3018301C000000",  # U+00B3 superscript three
        "180C000000000000",  # U+00B4 acute accent
        "00006666663E0603",  # U+00B5 micro sign
        "FEDBDBDED8D8D800",  # U+00B6 pilcrow sign
        "0000001818000000",  # U+00B7 middle dot
        "000000000018301E",  # U+00B8 cedilla
        "080C081C00000000",  # U+00B9 superscript one
        "1C36361C00000000",  # U+00BA masculine ordinal indicator
        "003366CC66330000",  # U+00BB right-pointing double angle quotation mark
        "C36333BDECF6F303",  # U+00BC vulgar fraction one quarter
        "C363337BCC6633F0",  # U+00BD vulgar fraction one half
        "03C463B4DBACE680",  # U+00BE vulgar fraction three quarters
        "0C000C0603331E00",  # U+00BF inverted question mark
        "07001C36637F6300",  # U+00C0 latin capital letter a with grave
        "70001C36637F6300",  # U+00C1 latin capital letter a with acute
        "1C36003E637F6300",  # U+00C2 latin capital letter a with circumflex
        "6E3B003E637F6300",  # U+00C3 latin capital letter a with tilde
        "631C36637F636300",  # U+00C4 latin capital letter a with diaeresis
        "0C0C001E333F3300",  # U+00C5 latin capital letter a with ring above
        "7C36337F33337300",  # U+00C6 latin capital letter ae
        "1E3303331E18301E",  # U+00C7 latin capital letter c with cedilla
        "07003F061E063F00",  # U+00C8 latin capital letter e with grave
        "38003F061E063F00",  # U+00C9 latin capital letter e with acute
        "0C123F061E063F00",  # U+00CA latin capital letter e with circumflex
        "36003F061E063F00",  # U+00CB latin capital letter e with diaeresis
        "07001E0C0C0C1E00",  # U+00CC latin capital letter i with grave
        "38001E0C0C0C1E00",  # U+00CD latin capital letter i with acute
        "0C12001E0C0C1E00",  # U+00CE latin capital letter i with circumflex
        "33001E0C0C0C1E00",  # U+00CF latin capital letter i with diaeresis
        "3F666F6F66663F00",  # U+00D0 latin capital letter eth
        "3F0033373F3B3300",  # U+00D1 latin capital letter n with tilde
        "0E00183C663C1800",  # U+00D2 latin capital letter o with grave
        "7000183C663C1800",  # U+00D3 latin capital letter o with acute
        "3C66183C663C1800",  # U+00D4 latin capital letter o with circumflex
        "6E3B003E63633E00",  # U+00D5 latin capital letter o with tilde
        "C3183C66663C1800",  # U+00D6 latin capital letter o with diaeresis
        "00361C081C360000",  # U+00D7 multiplication sign
        "5C36737B6F361D00",  # U+00D8 latin capital letter o with stroke
        "0E00666666663C00",  # U+00D9 latin capital letter u with grave
        "7000666666663C00",  # U+00DA latin capital letter u with acute
        "3C66006666663C00",  # U+00DB latin capital letter u with circumflex
        "3300333333331E00",  # U+00DC latin capital letter u with diaeresis
        "700066663C181800",  # U+00DD latin capital letter y with acute
        "0F063E66663E060F",  # U+00DE latin capital letter thorn
        "001E331F331F0303",  # U+00DF latin small letter sharp s
        "07001E303E337E00",  # U+00E0 latin small letter a with grave
        "38001E303E337E00",  # U+00E1 latin small letter a with acute
        "7EC33C607C66FC00",  # U+00E2 latin small letter a with circumflex
        "6E3B1E303E337E00",  # U+00E3 latin small letter a with tilde
        "33001E303E337E00",  # U+00E4 latin small letter a with diaeresis
        "0C0C1E303E337E00",  # U+00E5 latin small letter a with ring above
        "0000FE30FE33FE00",  # U+00E6 latin small letter ae
        "00001E03031E301C",  # U+00E7 latin small letter c with cedilla
        "07001E333F031E00",  # U+00E8 latin small letter e with grave
        "38001E333F031E00",  # U+00E9 latin small letter e with acute
        "7EC33C667E063C00",  # U+00EA latin small letter e with circumflex
        "33001E333F031E00",  # U+00EB latin small letter e with diaeresis
        "07000E0C0C0C1E00",  # U+00EC latin small letter i with grave
        "1C000E0C0C0C1E00",  # U+00ED latin small letter i with acute
        "3E631C1818183C00",  # U+00EE latin small letter i with circumflex
        "33000E0C0C0C1E00",  # U+00EF latin small letter i with diaeresis
        "1B0E1B303E331E00",  # U+00F0 latin small letter eth
        "001F001F33333300",  # U+00F1 latin small letter n with tilde
        "0007001E33331E00",  # U+00F2 latin small letter o with grave
        "0038001E33331E00",  # U+00F3 latin small letter o with acute
        "1E33001E33331E00",  # U+00F4 latin small letter o with circumflex
        "6E3B001E33331E00",  # U+00F5 latin small letter o with tilde
        "0033001E33331E00",  # U+00F6 latin small letter o with diaeresis
        "1818007E00181800",  # U+00F7 division sign
        "00603C767E6E3C06",  # U+00F8 latin small letter o with stroke
        "0007003333337E00",  # U+00F9 latin small letter u with grave
        "0038003333337E00",  # U+00FA latin small letter u with acute
        "1E33003333337E00",  # U+00FB latin small letter u with circumflex
        "0033003333337E00",  # U+00FC latin small letter u with diaeresis
        "00380033333E301F",  # U+00FD latin small letter y with acute
        "0000063E663E0600",  # U+00FE latin small letter thorn
        "00330033333E301F",  # U+00FF latin small letter y with diaeresis
    )
)


def glyph(char: str) -> bytes:
    code_point = ord(char)
    if FIRST <= code_point < FIRST + len(GLYPHS):
        return GLYPHS[code_point - FIRST]
    if LATIN1_FIRST <= code_point < LATIN1_FIRST + len(LATIN1_GLYPHS):
        return LATIN1_GLYPHS[code_point - LATIN1_FIRST]
    return PLACEHOLDER
