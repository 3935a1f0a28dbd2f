;; The weighted Gram matrix of the binary logistic loss's Hessian, with WebAssembly SIMD (f64x2):
;;   out[j*d + k] = Σᵢ h[i] · x[j*n + i] · x[k*n + i]   for 0 ≤ j ≤ k < d
;;   out[d*d + j] = Σᵢ h[i] · x[j*n + i]                 (the intercept column)
;;   out[d*d + d] = Σᵢ h[i]
;; x is column-major (d columns of n numbers). Offsets and lengths count float64 elements; `tmp`
;; holds n numbers of scratch. Built into gram-wasm.ts by scripts/build-wasm.mjs.
(module
  (memory (export "memory") 1)
  (func (export "gram") (param $h i32) (param $x i32) (param $n i32) (param $d i32) (param $out i32) (param $tmp i32)
    (local $j i32) (local $i i32) (local $n2 i32)
    (local $acc v128) (local $hs v128) (local $s f64) (local $hsum f64)
    (local $pj i32)
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
      ;; out[j][k] = tmp · x_k for k = j … d−1
      (call $dots (local.get $tmp) (local.get $x) (local.get $n) (local.get $j) (local.get $d)
        (i32.add (local.get $out) (i32.add (i32.mul (local.get $j) (local.get $d)) (local.get $j))))
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
    (call $dots (local.get $r) (local.get $x) (local.get $n) (i32.const 0) (local.get $d) (local.get $g)))

  ;; out[k − k0] = Σ_i v[i] · x[k*n + i]   for k0 ≤ k < d
  ;; Four columns per pass over v, each with its own accumulator: every sum adds the same terms in
  ;; the same order as one column at a time (even rows in lane 0, odd rows in lane 1, lane 0 + lane 1,
  ;; then the odd last row), so the same bits, without waiting on one add chain.
  (func $dots (param $v i32) (param $x i32) (param $n i32) (param $k0 i32) (param $d i32) (param $out i32)
    (local $k i32) (local $o i32) (local $nb i32) (local $n2b i32) (local $vb i32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32) (local $t v128) (local $tail f64)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $odd i32)
    (local.set $nb (i32.shl (local.get $n) (i32.const 3)))
    (local.set $n2b (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 3)))
    (local.set $odd (i32.and (local.get $n) (i32.const 1)))
    (local.set $vb (i32.shl (local.get $v) (i32.const 3)))
    (local.set $k (local.get $k0))
    (block $done4 (loop $l4
      (br_if $done4 (i32.gt_u (i32.add (local.get $k) (i32.const 4)) (local.get $d)))
      (local.set $p0 (i32.shl (i32.add (local.get $x) (i32.mul (local.get $k) (local.get $n))) (i32.const 3)))
      (local.set $p1 (i32.add (local.get $p0) (local.get $nb)))
      (local.set $p2 (i32.add (local.get $p1) (local.get $nb)))
      (local.set $p3 (i32.add (local.get $p2) (local.get $nb)))
      (local.set $a0 (v128.const f64x2 0 0))
      (local.set $a1 (v128.const f64x2 0 0))
      (local.set $a2 (v128.const f64x2 0 0))
      (local.set $a3 (v128.const f64x2 0 0))
      (local.set $o (i32.const 0))
      (block $d1 (loop $l1
        (br_if $d1 (i32.ge_u (local.get $o) (local.get $n2b)))
        (local.set $t (v128.load (i32.add (local.get $vb) (local.get $o))))
        (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (local.get $t) (v128.load (i32.add (local.get $p0) (local.get $o))))))
        (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (local.get $t) (v128.load (i32.add (local.get $p1) (local.get $o))))))
        (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (local.get $t) (v128.load (i32.add (local.get $p2) (local.get $o))))))
        (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (local.get $t) (v128.load (i32.add (local.get $p3) (local.get $o))))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $l1)))
      (local.set $o (i32.shl (i32.add (local.get $out) (i32.sub (local.get $k) (local.get $k0))) (i32.const 3)))
      (f64.store offset=0 (local.get $o) (call $finish (local.get $a0) (local.get $odd) (local.get $vb) (local.get $p0) (local.get $n2b)))
      (f64.store offset=8 (local.get $o) (call $finish (local.get $a1) (local.get $odd) (local.get $vb) (local.get $p1) (local.get $n2b)))
      (f64.store offset=16 (local.get $o) (call $finish (local.get $a2) (local.get $odd) (local.get $vb) (local.get $p2) (local.get $n2b)))
      (f64.store offset=24 (local.get $o) (call $finish (local.get $a3) (local.get $odd) (local.get $vb) (local.get $p3) (local.get $n2b)))
      (local.set $k (i32.add (local.get $k) (i32.const 4)))
      (br $l4)))
    ;; the last columns, one at a time
    (block $done1 (loop $lk
      (br_if $done1 (i32.ge_u (local.get $k) (local.get $d)))
      (local.set $p0 (i32.shl (i32.add (local.get $x) (i32.mul (local.get $k) (local.get $n))) (i32.const 3)))
      (local.set $a0 (v128.const f64x2 0 0))
      (local.set $o (i32.const 0))
      (block $d2 (loop $l2
        (br_if $d2 (i32.ge_u (local.get $o) (local.get $n2b)))
        (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul
          (v128.load (i32.add (local.get $vb) (local.get $o)))
          (v128.load (i32.add (local.get $p0) (local.get $o))))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $l2)))
      (f64.store (i32.shl (i32.add (local.get $out) (i32.sub (local.get $k) (local.get $k0))) (i32.const 3))
        (call $finish (local.get $a0) (local.get $odd) (local.get $vb) (local.get $p0) (local.get $n2b)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $lk))))

  ;; lane 0 + lane 1 of a column's sum, plus v[last] · x[last] when n is odd (byte addresses)
  (func $finish (param $acc v128) (param $odd i32) (param $vb i32) (param $pb i32) (param $n2b i32) (result f64)
    (local $s f64)
    (local.set $s (f64.add (f64x2.extract_lane 0 (local.get $acc)) (f64x2.extract_lane 1 (local.get $acc))))
    (if (local.get $odd)
      (then (local.set $s (f64.add (local.get $s) (f64.mul
        (f64.load (i32.add (local.get $vb) (local.get $n2b)))
        (f64.load (i32.add (local.get $pb) (local.get $n2b))))))))
    (local.get $s))
)
