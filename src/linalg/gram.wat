;; The weighted Gram matrix of the binary logistic loss's Hessian, with WebAssembly SIMD (f64x2):
;;   out[j*d + k] = Σᵢ h[i] · x[j*n + i] · x[k*n + i]   for 0 ≤ j ≤ k < d
;;   out[d*d + j] = Σᵢ h[i] · x[j*n + i]                 (the intercept column)
;;   out[d*d + d] = Σᵢ h[i]
;; x is column-major (d columns of n numbers). Offsets and lengths count float64 elements; `tmp`
;; holds n numbers of scratch. Built into gram-wasm.ts by scripts/build-wasm.mjs.
(module
  (memory (export "memory") 1)
  (func (export "gram") (param $h i32) (param $x i32) (param $n i32) (param $d i32) (param $out i32) (param $tmp i32)
    (local $j i32) (local $k i32) (local $i i32) (local $n2 i32)
    (local $acc v128) (local $hs v128) (local $s f64) (local $hsum f64)
    (local $pj i32) (local $pk i32) (local $pt i32) (local $ph i32)
    (local.set $n2 (i32.and (local.get $n) (i32.const -2)))
    ;; Σ h
    (local.set $hs (v128.const f64x2 0 0))
    (local.set $i (i32.const 0))
    (block $done0 (loop $l0
      (br_if $done0 (i32.ge_u (local.get $i) (local.get $n2)))
      (local.set $hs (f64x2.add (local.get $hs)
        (v128.load (i32.shl (i32.add (local.get $h) (local.get $i)) (i32.const 3)))))
      (local.set $i (i32.add (local.get $i) (i32.const 2)))
      (br $l0)))
    (local.set $s (f64.add (f64x2.extract_lane 0 (local.get $hs)) (f64x2.extract_lane 1 (local.get $hs))))
    (if (i32.lt_u (local.get $n2) (local.get $n))
      (then (local.set $s (f64.add (local.get $s)
        (f64.load (i32.shl (i32.add (local.get $h) (local.get $n2)) (i32.const 3)))))))
    (f64.store (i32.shl (i32.add (local.get $out) (i32.add (i32.mul (local.get $d) (local.get $d)) (local.get $d))) (i32.const 3)) (local.get $s))
    (local.set $j (i32.const 0))
    (block $donej (loop $lj
      (br_if $donej (i32.ge_u (local.get $j) (local.get $d)))
      ;; tmp = h * x_j, and its sum
      (local.set $pj (i32.add (local.get $x) (i32.mul (local.get $j) (local.get $n))))
      (local.set $hs (v128.const f64x2 0 0))
      (local.set $i (i32.const 0))
      (block $done1 (loop $l1
        (br_if $done1 (i32.ge_u (local.get $i) (local.get $n2)))
        (local.set $acc (f64x2.mul
          (v128.load (i32.shl (i32.add (local.get $h) (local.get $i)) (i32.const 3)))
          (v128.load (i32.shl (i32.add (local.get $pj) (local.get $i)) (i32.const 3)))))
        (v128.store (i32.shl (i32.add (local.get $tmp) (local.get $i)) (i32.const 3)) (local.get $acc))
        (local.set $hs (f64x2.add (local.get $hs) (local.get $acc)))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $l1)))
      (local.set $hsum (f64.add (f64x2.extract_lane 0 (local.get $hs)) (f64x2.extract_lane 1 (local.get $hs))))
      (if (i32.lt_u (local.get $n2) (local.get $n))
        (then
          (local.set $s (f64.mul
            (f64.load (i32.shl (i32.add (local.get $h) (local.get $n2)) (i32.const 3)))
            (f64.load (i32.shl (i32.add (local.get $pj) (local.get $n2)) (i32.const 3)))))
          (f64.store (i32.shl (i32.add (local.get $tmp) (local.get $n2)) (i32.const 3)) (local.get $s))
          (local.set $hsum (f64.add (local.get $hsum) (local.get $s)))))
      (f64.store (i32.shl (i32.add (local.get $out) (i32.add (i32.mul (local.get $d) (local.get $d)) (local.get $j))) (i32.const 3)) (local.get $hsum))
      ;; out[j][k] = tmp · x_k
      (local.set $k (local.get $j))
      (block $donek (loop $lk
        (br_if $donek (i32.ge_u (local.get $k) (local.get $d)))
        (local.set $pk (i32.add (local.get $x) (i32.mul (local.get $k) (local.get $n))))
        (local.set $acc (v128.const f64x2 0 0))
        (local.set $i (i32.const 0))
        (block $done2 (loop $l2
          (br_if $done2 (i32.ge_u (local.get $i) (local.get $n2)))
          (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul
            (v128.load (i32.shl (i32.add (local.get $tmp) (local.get $i)) (i32.const 3)))
            (v128.load (i32.shl (i32.add (local.get $pk) (local.get $i)) (i32.const 3))))))
          (local.set $i (i32.add (local.get $i) (i32.const 2)))
          (br $l2)))
        (local.set $s (f64.add (f64x2.extract_lane 0 (local.get $acc)) (f64x2.extract_lane 1 (local.get $acc))))
        (if (i32.lt_u (local.get $n2) (local.get $n))
          (then (local.set $s (f64.add (local.get $s) (f64.mul
            (f64.load (i32.shl (i32.add (local.get $tmp) (local.get $n2)) (i32.const 3)))
            (f64.load (i32.shl (i32.add (local.get $pk) (local.get $n2)) (i32.const 3))))))))
        (f64.store (i32.shl (i32.add (local.get $out) (i32.add (i32.mul (local.get $j) (local.get $d)) (local.get $k))) (i32.const 3)) (local.get $s))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $lk)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $lj)))
  )
  ;; z[i] = b + Σ_j w[j] · x[j*n + i]
  (func (export "xw") (param $x i32) (param $n i32) (param $d i32) (param $w i32) (param $b f64) (param $z i32)
    (local $i i32) (local $j i32) (local $n2 i32) (local $wj v128) (local $wjs f64) (local $pj i32) (local $pz i32)
    (local.set $n2 (i32.and (local.get $n) (i32.const -2)))
    (local.set $i (i32.const 0))
    (block $d0 (loop $l0
      (br_if $d0 (i32.ge_u (local.get $i) (local.get $n)))
      (f64.store (i32.shl (i32.add (local.get $z) (local.get $i)) (i32.const 3)) (local.get $b))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l0)))
    (local.set $j (i32.const 0))
    (block $dj (loop $lj
      (br_if $dj (i32.ge_u (local.get $j) (local.get $d)))
      (local.set $wjs (f64.load (i32.shl (i32.add (local.get $w) (local.get $j)) (i32.const 3))))
      (local.set $wj (f64x2.splat (local.get $wjs)))
      (local.set $pj (i32.add (local.get $x) (i32.mul (local.get $j) (local.get $n))))
      (local.set $i (i32.const 0))
      (block $d1 (loop $l1
        (br_if $d1 (i32.ge_u (local.get $i) (local.get $n2)))
        (local.set $pz (i32.shl (i32.add (local.get $z) (local.get $i)) (i32.const 3)))
        (v128.store (local.get $pz) (f64x2.add (v128.load (local.get $pz))
          (f64x2.mul (local.get $wj) (v128.load (i32.shl (i32.add (local.get $pj) (local.get $i)) (i32.const 3))))))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $l1)))
      (if (i32.lt_u (local.get $n2) (local.get $n))
        (then
          (local.set $pz (i32.shl (i32.add (local.get $z) (local.get $n2)) (i32.const 3)))
          (f64.store (local.get $pz) (f64.add (f64.load (local.get $pz))
            (f64.mul (local.get $wjs) (f64.load (i32.shl (i32.add (local.get $pj) (local.get $n2)) (i32.const 3))))))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $lj))))

  ;; g[j] = Σ_i r[i] · x[j*n + i]
  (func (export "xtr") (param $x i32) (param $n i32) (param $d i32) (param $r i32) (param $g i32)
    (local $i i32) (local $j i32) (local $n2 i32) (local $acc v128) (local $s f64) (local $pj i32)
    (local.set $n2 (i32.and (local.get $n) (i32.const -2)))
    (local.set $j (i32.const 0))
    (block $dj (loop $lj
      (br_if $dj (i32.ge_u (local.get $j) (local.get $d)))
      (local.set $pj (i32.add (local.get $x) (i32.mul (local.get $j) (local.get $n))))
      (local.set $acc (v128.const f64x2 0 0))
      (local.set $i (i32.const 0))
      (block $d1 (loop $l1
        (br_if $d1 (i32.ge_u (local.get $i) (local.get $n2)))
        (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul
          (v128.load (i32.shl (i32.add (local.get $r) (local.get $i)) (i32.const 3)))
          (v128.load (i32.shl (i32.add (local.get $pj) (local.get $i)) (i32.const 3))))))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $l1)))
      (local.set $s (f64.add (f64x2.extract_lane 0 (local.get $acc)) (f64x2.extract_lane 1 (local.get $acc))))
      (if (i32.lt_u (local.get $n2) (local.get $n))
        (then (local.set $s (f64.add (local.get $s) (f64.mul
          (f64.load (i32.shl (i32.add (local.get $r) (local.get $n2)) (i32.const 3)))
          (f64.load (i32.shl (i32.add (local.get $pj) (local.get $n2)) (i32.const 3))))))))
      (f64.store (i32.shl (i32.add (local.get $g) (local.get $j)) (i32.const 3)) (local.get $s))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $lj))))
)
