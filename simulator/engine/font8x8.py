"""An 8x8 bitmap font for printable ASCII, so the renderer draws text the same whatever is installed.

The glyphs are Daniel Hepper's font8x8_basic (https://github.com/dhepper/font8x8, public domain), itself from the
public-domain IBM VGA fonts by way of Marcel Sondaar's font8_8. Each glyph is eight rows, top first; in each row's
byte the least significant bit is the leftmost pixel. A character the font lacks is drawn as a hollow box, so a
prompt in any script still shows where its letters are.
"""

from __future__ import annotations

FIRST = 0x20
"""The code point of the first glyph (space); the table runs to U+007E (~)."""

PLACEHOLDER = bytes.fromhex("007E424242427E00")
"""A hollow box for every character outside printable ASCII (and for control characters)."""

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


def glyph(char: str) -> bytes:
    index = ord(char) - FIRST
    return GLYPHS[index] if 0 <= index < len(GLYPHS) else PLACEHOLDER
