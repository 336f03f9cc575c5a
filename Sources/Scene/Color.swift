#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// sRGB-encoded value (0…1) → linear.
@inlinable public func srgbToLinear(_ c: Float) -> Float {
    c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4)
}

/// Linear value (0…1) → sRGB-encoded.
@inlinable public func linearToSRGB(_ c: Float) -> Float {
    c <= 0.003_130_8 ? c * 12.92 : 1.055 * pow(c, 1 / 2.4) - 0.055
}
