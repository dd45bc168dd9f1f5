/* half.c — IEEE binary16 on the host: widening exactly, narrowing rounded to nearest even with overflow reported. */
#include <string.h>

#include "base/base.h"

float clenc__half_to_float(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
    uint32_t bits;
    if (exponent == 0x1f) /* inf, or nan with its payload kept */
        bits = sign | 0x7f800000u | mantissa << 13;
    else if (exponent != 0) /* rebias 15 -> 127 */
        bits = sign | (exponent + 112) << 23 | mantissa << 13;
    else { /* zero or subnormal: mantissa x 2^-24, exact in float */
        const float magnitude = (float)mantissa * 0x1p-24f;
        return sign ? -magnitude : magnitude;
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

int clenc__half_from_float(float f, uint16_t *out)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    const uint16_t sign = (uint16_t)(bits >> 16 & 0x8000u);
    const uint32_t magnitude = bits & 0x7fffffffu;
    if (magnitude >= 0x7f800000u) { /* inf or nan */
        *out = (uint16_t)(sign | 0x7c00u | (magnitude > 0x7f800000u ? 0x200u : 0));
        return magnitude == 0x7f800000u ? 0 : -1;
    }
    /* 65520 and above round to infinity: out of half's range. */
    if (magnitude >= 0x477ff000u) {
        *out = (uint16_t)(sign | 0x7c00u);
        return -1;
    }
    const int exponent = (int)(magnitude >> 23) - 127;
    uint32_t mant = (magnitude & 0x7fffffu) | 0x800000u; /* 24 bits */
    int shift;          /* bits dropped from the 24-bit significand */
    uint32_t base_bits; /* exponent field of the result, pre-shifted */
    if (exponent >= -14) {
        shift = 13;
        base_bits = (uint32_t)(exponent + 15) << 10;
        mant &= 0x7fffffu; /* the implicit 1 lives in the exponent field */
    } else {
        if (exponent < -25) { /* below half the smallest subnormal */
            *out = sign;
            return 0;
        }
        shift = 13 + (-14 - exponent); /* subnormal: 14..24 */
        base_bits = 0;
    }
    uint32_t q = mant >> shift;
    const uint32_t rest = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rest > half || (rest == half && (q & 1)))
        q++; /* a carry into the exponent field is the right result */
    *out = (uint16_t)(sign | (base_bits + q));
    return 0;
}
