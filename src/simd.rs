//! Which SIMD paths this CPU can take, decided once per process.

/// True when the CPU has the x86-64-v3 features (AVX2, BMI1/2, LZCNT,
/// POPCNT, SSSE3, SSE4.1/4.2) and `FLOWSCOPE_NO_SIMD` is not set. The
/// variable forces the baseline code, so tests can compare both paths
/// on one machine and a user can rule them out.
#[cfg(target_arch = "x86_64")]
pub fn x86_64_v3() -> bool {
    use std::sync::OnceLock;
    static V3: OnceLock<bool> = OnceLock::new();
    *V3.get_or_init(|| {
        std::env::var_os("FLOWSCOPE_NO_SIMD").is_none()
            && std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("bmi1")
            && std::is_x86_feature_detected!("bmi2")
            && std::is_x86_feature_detected!("lzcnt")
            && std::is_x86_feature_detected!("popcnt")
            && std::is_x86_feature_detected!("ssse3")
            && std::is_x86_feature_detected!("sse4.1")
            && std::is_x86_feature_detected!("sse4.2")
    })
}
