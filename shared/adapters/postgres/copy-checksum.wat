;; The row checksum of pgkeep's manifest of contents (docs/decisions.md "Restore tests"), as WebAssembly so that a
;; backup can hash every row of its dump at memory speed. copy-checksum.ts embeds the compiled bytes; a unit test
;; compiles this file with wabt and checks that they are the same.
;;
;; Definition: a table's rows are the lines of its COPY text (the bytes between two newlines, without the newline).
;; Each row's hash is FNV-1a 64 of its bytes (offset basis 0xcbf29ce484222325, prime 0x100000001b3); the table's
;; checksum is the sum of its rows' hashes modulo 2^64, with the row count beside it. A sum does not depend on the
;; order of the rows and counts a repeated row twice. A line that is exactly \. ends the rows: pg_dump writes that
;; end-of-data marker (and two empty lines) after a table's rows, and no row can be it (COPY text doubles every
;; backslash of the data); COPY ... TO STDOUT over the protocol carries no marker.
;;
;; The caller copies input to memory offset 0 (at most 65536 bytes per call); framed() gathers payloads at 65536, and
;; the newline scan may read 15 bytes past either area (hence a third page). The caller calls:
;;   text(len)             hashes raw COPY text (the restore side reads COPY ... TO STDOUT)
;;   framed(len, intSize)  reads a custom-format data block's chunks (each: a sign byte, intSize bytes of length,
;;                         little-endian, then that many bytes of COPY text; a zero length ends the block) and
;;                         hashes their bytes; returns how many input bytes it used, stopping after the end mark
;;   flush()               counts a last row that has no newline (a stream cut short)
;;   reset()               starts a new table
;; and reads sum(), rows(), payloadBytes(), phase() (0 or 1: inside the block, 2: its end mark read, 3: a negative
;; chunk length, i.e. not a data block).
;;
;; Speed: FNV-1a is a chain of multiplications, each waiting for the one before, so hashing one row at a time runs at
;; the multiplier's latency. Complete rows are therefore hashed four at a time ($lanes), found by a 16-byte SIMD
;; newline scan; only the row carried over from the last call and the incomplete row at the end go a byte at a time
;; ($serial). The four lanes are written out one by one because the text format has no macros. The sums are the
;; same (the unit tests compare both paths with a plain reference); CPU per byte fell ~1.7x (docs/decisions.md).

(module
  (memory (export "memory") 3)
  (global $h (mut i64) (i64.const 0xcbf29ce484222325))
  (global $partial (mut i32) (i32.const 0))
  (global $sum (mut i64) (i64.const 0))
  (global $rows (mut i64) (i64.const 0))
  (global $bytes (mut i64) (i64.const 0))
  (global $phase (mut i32) (i32.const 0))
  (global $lenPos (mut i32) (i32.const 0))
  (global $lenAcc (mut i64) (i64.const 0))
  (global $neg (mut i32) (i32.const 0))
  (global $remaining (mut i64) (i64.const 0))
  (global $rowLen (mut i32) (i32.const 0))
  (global $last2 (mut i32) (i32.const 0))
  (global $ended (mut i32) (i32.const 0))

;; Hashes input[start, end): the row in progress, then the complete rows four at a time, then the incomplete rest.
  (func $hash (param $start i32) (param $end i32)
    (local $i i32)
    (global.set $bytes (i64.add (global.get $bytes) (i64.extend_i32_u (i32.sub (local.get $end) (local.get $start)))))
    (if (global.get $ended) (then (return)))
    (local.set $i (call $serial (local.get $start) (local.get $end)))
    (if (i32.or (global.get $ended) (i32.ge_u (local.get $i) (local.get $end))) (then (return)))
    (local.set $i (call $lanes (local.get $i) (local.get $end)))
    (if (i32.or (global.get $ended) (i32.ge_u (local.get $i) (local.get $end))) (then (return)))
    (drop (call $serial (local.get $i) (local.get $end))))

  ;; Continues the row in progress a byte at a time until its newline (counted; returns the offset after it) or
  ;; `end` (the row stays in progress; returns end). Tracks the row's length and last two bytes, so that an end
  ;; marker split across calls is still recognised.
  (func $serial (param $start i32) (param $end i32) (result i32)
    (local $i i32) (local $b i64) (local $h i64) (local $rowLen i32) (local $last2 i32)
    (local.set $i (local.get $start))
    (local.set $h (global.get $h))
    (local.set $rowLen (global.get $rowLen))
    (local.set $last2 (global.get $last2))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $b (i64.load8_u (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (if (i64.eq (local.get $b) (i64.const 10))
          (then
            ;; the end-of-data marker: a row of exactly the two bytes \ and .
            (if (i32.and (i32.eq (local.get $rowLen) (i32.const 2)) (i32.eq (local.get $last2) (i32.const 0x5c2e)))
              (then (call $end) (return (local.get $end))))
            (global.set $sum (i64.add (global.get $sum) (local.get $h)))
            (global.set $rows (i64.add (global.get $rows) (i64.const 1)))
            (global.set $h (i64.const 0xcbf29ce484222325))
            (global.set $partial (i32.const 0))
            (global.set $rowLen (i32.const 0))
            (global.set $last2 (i32.const 0))
            (return (local.get $i))))
        (local.set $h (i64.mul (i64.xor (local.get $h) (local.get $b)) (i64.const 0x100000001b3)))
        (local.set $rowLen (i32.add (local.get $rowLen) (i32.const 1)))
        (local.set $last2
          (i32.and (i32.or (i32.shl (local.get $last2) (i32.const 8)) (i32.wrap_i64 (local.get $b))) (i32.const 0xffff)))
        (global.set $partial (i32.const 1))
        (br $next)))
    (global.set $h (local.get $h))
    (global.set $rowLen (local.get $rowLen))
    (global.set $last2 (local.get $last2))
    (local.get $end))

  ;; The end-of-data marker was read: nothing after it counts.
  (func $end
    (global.set $ended (i32.const 1))
    (global.set $h (i64.const 0xcbf29ce484222325))
    (global.set $partial (i32.const 0)))

  ;; The offset of the first newline in [from, end), or end. Sixteen bytes per step (it may read up to 15 bytes past
  ;; end, inside the module's memory, and ignores what it finds there).
  (func $newline (param $from i32) (param $end i32) (result i32)
    (local $m i32)
    (block $none
      (loop $next
        (br_if $none (i32.ge_u (local.get $from) (local.get $end)))
        (local.set $m
          (i8x16.bitmask (i8x16.eq (v128.load (local.get $from)) (i8x16.splat (i32.const 10)))))
        (if (local.get $m)
          (then
            (local.set $from (i32.add (local.get $from) (i32.ctz (local.get $m))))
            (return (select (local.get $end) (local.get $from) (i32.ge_u (local.get $from) (local.get $end))))))
        (local.set $from (i32.add (local.get $from) (i32.const 16)))
        (br $next)))
    (local.get $end))

  ;; Hashes the complete rows from `start` (a row's first byte) four at a time: each lane holds a row (its next byte
  ;; p, its newline e, its hash h, a = holds a row not yet counted); all four advance by the shortest one's rest, then
  ;; each lane whose row is done counts it and takes the next complete row (empty rows are counted as they are met).
  ;; When no complete row is left, or at the end marker, the lanes still holding a row finish one by one. Returns the
  ;; first byte of the incomplete row that follows (or end, after the marker).
  (func $lanes (param $start i32) (param $end i32) (result i32)
    (local $next i32) (local $nl i32) (local $n i32) (local $sum i64) (local $rows i64) (local $stop i32)
    (local $p0 i32) (local $e0 i32) (local $h0 i64) (local $a0 i32)
    (local $p1 i32) (local $e1 i32) (local $h1 i64) (local $a1 i32)
    (local $p2 i32) (local $e2 i32) (local $h2 i64) (local $a2 i32)
    (local $p3 i32) (local $e3 i32) (local $h3 i64) (local $a3 i32)
    (local.set $next (local.get $start))
    (local.set $sum (global.get $sum))
    (local.set $rows (global.get $rows))
    (block $finish
        (block $got0
          (loop $scan0
            (local.set $nl (call $newline (local.get $next) (local.get $end)))
            (br_if $finish (i32.ge_u (local.get $nl) (local.get $end)))
            (if (i32.and (i32.eq (i32.sub (local.get $nl) (local.get $next)) (i32.const 2))
                         (i32.eq (i32.load16_u (local.get $next)) (i32.const 0x2e5c)))
              (then (local.set $stop (i32.const 1)) (br $finish)))
            (if (i32.eq (local.get $nl) (local.get $next))
              (then
                (local.set $sum (i64.add (local.get $sum) (i64.const 0xcbf29ce484222325)))
                (local.set $rows (i64.add (local.get $rows) (i64.const 1)))
                (local.set $next (i32.add (local.get $nl) (i32.const 1)))
                (br $scan0)))
            (local.set $p0 (local.get $next))
            (local.set $e0 (local.get $nl))
            (local.set $h0 (i64.const 0xcbf29ce484222325))
            (local.set $a0 (i32.const 1))
            (local.set $next (i32.add (local.get $nl) (i32.const 1)))))
        (block $got1
          (loop $scan1
            (local.set $nl (call $newline (local.get $next) (local.get $end)))
            (br_if $finish (i32.ge_u (local.get $nl) (local.get $end)))
            (if (i32.and (i32.eq (i32.sub (local.get $nl) (local.get $next)) (i32.const 2))
                         (i32.eq (i32.load16_u (local.get $next)) (i32.const 0x2e5c)))
              (then (local.set $stop (i32.const 1)) (br $finish)))
            (if (i32.eq (local.get $nl) (local.get $next))
              (then
                (local.set $sum (i64.add (local.get $sum) (i64.const 0xcbf29ce484222325)))
                (local.set $rows (i64.add (local.get $rows) (i64.const 1)))
                (local.set $next (i32.add (local.get $nl) (i32.const 1)))
                (br $scan1)))
            (local.set $p1 (local.get $next))
            (local.set $e1 (local.get $nl))
            (local.set $h1 (i64.const 0xcbf29ce484222325))
            (local.set $a1 (i32.const 1))
            (local.set $next (i32.add (local.get $nl) (i32.const 1)))))
        (block $got2
          (loop $scan2
            (local.set $nl (call $newline (local.get $next) (local.get $end)))
            (br_if $finish (i32.ge_u (local.get $nl) (local.get $end)))
            (if (i32.and (i32.eq (i32.sub (local.get $nl) (local.get $next)) (i32.const 2))
                         (i32.eq (i32.load16_u (local.get $next)) (i32.const 0x2e5c)))
              (then (local.set $stop (i32.const 1)) (br $finish)))
            (if (i32.eq (local.get $nl) (local.get $next))
              (then
                (local.set $sum (i64.add (local.get $sum) (i64.const 0xcbf29ce484222325)))
                (local.set $rows (i64.add (local.get $rows) (i64.const 1)))
                (local.set $next (i32.add (local.get $nl) (i32.const 1)))
                (br $scan2)))
            (local.set $p2 (local.get $next))
            (local.set $e2 (local.get $nl))
            (local.set $h2 (i64.const 0xcbf29ce484222325))
            (local.set $a2 (i32.const 1))
            (local.set $next (i32.add (local.get $nl) (i32.const 1)))))
        (block $got3
          (loop $scan3
            (local.set $nl (call $newline (local.get $next) (local.get $end)))
            (br_if $finish (i32.ge_u (local.get $nl) (local.get $end)))
            (if (i32.and (i32.eq (i32.sub (local.get $nl) (local.get $next)) (i32.const 2))
                         (i32.eq (i32.load16_u (local.get $next)) (i32.const 0x2e5c)))
              (then (local.set $stop (i32.const 1)) (br $finish)))
            (if (i32.eq (local.get $nl) (local.get $next))
              (then
                (local.set $sum (i64.add (local.get $sum) (i64.const 0xcbf29ce484222325)))
                (local.set $rows (i64.add (local.get $rows) (i64.const 1)))
                (local.set $next (i32.add (local.get $nl) (i32.const 1)))
                (br $scan3)))
            (local.set $p3 (local.get $next))
            (local.set $e3 (local.get $nl))
            (local.set $h3 (i64.const 0xcbf29ce484222325))
            (local.set $a3 (i32.const 1))
            (local.set $next (i32.add (local.get $nl) (i32.const 1)))))
      (loop $round
        (local.set $n (i32.sub (local.get $e0) (local.get $p0)))
        (local.set $n (select (local.get $n) (i32.sub (local.get $e1) (local.get $p1))
          (i32.lt_u (local.get $n) (i32.sub (local.get $e1) (local.get $p1)))))
        (local.set $n (select (local.get $n) (i32.sub (local.get $e2) (local.get $p2))
          (i32.lt_u (local.get $n) (i32.sub (local.get $e2) (local.get $p2)))))
        (local.set $n (select (local.get $n) (i32.sub (local.get $e3) (local.get $p3))
          (i32.lt_u (local.get $n) (i32.sub (local.get $e3) (local.get $p3)))))
        ;; four bytes of each lane per step, then the last few one at a time
        (block $stepped4
          (loop $step4
            (br_if $stepped4 (i32.lt_u (local.get $n) (i32.const 4)))
            (local.set $h0 (i64.mul (i64.xor (local.get $h0) (i64.load8_u offset=0 (local.get $p0))) (i64.const 0x100000001b3)))
            (local.set $h1 (i64.mul (i64.xor (local.get $h1) (i64.load8_u offset=0 (local.get $p1))) (i64.const 0x100000001b3)))
            (local.set $h2 (i64.mul (i64.xor (local.get $h2) (i64.load8_u offset=0 (local.get $p2))) (i64.const 0x100000001b3)))
            (local.set $h3 (i64.mul (i64.xor (local.get $h3) (i64.load8_u offset=0 (local.get $p3))) (i64.const 0x100000001b3)))
            (local.set $h0 (i64.mul (i64.xor (local.get $h0) (i64.load8_u offset=1 (local.get $p0))) (i64.const 0x100000001b3)))
            (local.set $h1 (i64.mul (i64.xor (local.get $h1) (i64.load8_u offset=1 (local.get $p1))) (i64.const 0x100000001b3)))
            (local.set $h2 (i64.mul (i64.xor (local.get $h2) (i64.load8_u offset=1 (local.get $p2))) (i64.const 0x100000001b3)))
            (local.set $h3 (i64.mul (i64.xor (local.get $h3) (i64.load8_u offset=1 (local.get $p3))) (i64.const 0x100000001b3)))
            (local.set $h0 (i64.mul (i64.xor (local.get $h0) (i64.load8_u offset=2 (local.get $p0))) (i64.const 0x100000001b3)))
            (local.set $h1 (i64.mul (i64.xor (local.get $h1) (i64.load8_u offset=2 (local.get $p1))) (i64.const 0x100000001b3)))
            (local.set $h2 (i64.mul (i64.xor (local.get $h2) (i64.load8_u offset=2 (local.get $p2))) (i64.const 0x100000001b3)))
            (local.set $h3 (i64.mul (i64.xor (local.get $h3) (i64.load8_u offset=2 (local.get $p3))) (i64.const 0x100000001b3)))
            (local.set $h0 (i64.mul (i64.xor (local.get $h0) (i64.load8_u offset=3 (local.get $p0))) (i64.const 0x100000001b3)))
            (local.set $h1 (i64.mul (i64.xor (local.get $h1) (i64.load8_u offset=3 (local.get $p1))) (i64.const 0x100000001b3)))
            (local.set $h2 (i64.mul (i64.xor (local.get $h2) (i64.load8_u offset=3 (local.get $p2))) (i64.const 0x100000001b3)))
            (local.set $h3 (i64.mul (i64.xor (local.get $h3) (i64.load8_u offset=3 (local.get $p3))) (i64.const 0x100000001b3)))
            (local.set $p0 (i32.add (local.get $p0) (i32.const 4)))
            (local.set $p1 (i32.add (local.get $p1) (i32.const 4)))
            (local.set $p2 (i32.add (local.get $p2) (i32.const 4)))
            (local.set $p3 (i32.add (local.get $p3) (i32.const 4)))
            (local.set $n (i32.sub (local.get $n) (i32.const 4)))
            (br $step4)))
        (block $stepped
          (loop $step
            (br_if $stepped (i32.eqz (local.get $n)))
            (local.set $h0 (i64.mul (i64.xor (local.get $h0) (i64.load8_u (local.get $p0))) (i64.const 0x100000001b3)))
            (local.set $p0 (i32.add (local.get $p0) (i32.const 1)))
            (local.set $h1 (i64.mul (i64.xor (local.get $h1) (i64.load8_u (local.get $p1))) (i64.const 0x100000001b3)))
            (local.set $p1 (i32.add (local.get $p1) (i32.const 1)))
            (local.set $h2 (i64.mul (i64.xor (local.get $h2) (i64.load8_u (local.get $p2))) (i64.const 0x100000001b3)))
            (local.set $p2 (i32.add (local.get $p2) (i32.const 1)))
            (local.set $h3 (i64.mul (i64.xor (local.get $h3) (i64.load8_u (local.get $p3))) (i64.const 0x100000001b3)))
            (local.set $p3 (i32.add (local.get $p3) (i32.const 1)))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br $step)))
        (if (i32.eq (local.get $p0) (local.get $e0))
          (then
            (local.set $sum (i64.add (local.get $sum) (local.get $h0)))
            (local.set $rows (i64.add (local.get $rows) (i64.const 1)))
            (local.set $a0 (i32.const 0))
        (block $got0
          (loop $scan0
            (local.set $nl (call $newline (local.get $next) (local.get $end)))
            (br_if $finish (i32.ge_u (local.get $nl) (local.get $end)))
            (if (i32.and (i32.eq (i32.sub (local.get $nl) (local.get $next)) (i32.const 2))
                         (i32.eq (i32.load16_u (local.get $next)) (i32.const 0x2e5c)))
              (then (local.set $stop (i32.const 1)) (br $finish)))
            (if (i32.eq (local.get $nl) (local.get $next))
              (then
                (local.set $sum (i64.add (local.get $sum) (i64.const 0xcbf29ce484222325)))
                (local.set $rows (i64.add (local.get $rows) (i64.const 1)))
                (local.set $next (i32.add (local.get $nl) (i32.const 1)))
                (br $scan0)))
            (local.set $p0 (local.get $next))
            (local.set $e0 (local.get $nl))
            (local.set $h0 (i64.const 0xcbf29ce484222325))
            (local.set $a0 (i32.const 1))
            (local.set $next (i32.add (local.get $nl) (i32.const 1)))))
          ))
        (if (i32.eq (local.get $p1) (local.get $e1))
          (then
            (local.set $sum (i64.add (local.get $sum) (local.get $h1)))
            (local.set $rows (i64.add (local.get $rows) (i64.const 1)))
            (local.set $a1 (i32.const 0))
        (block $got1
          (loop $scan1
            (local.set $nl (call $newline (local.get $next) (local.get $end)))
            (br_if $finish (i32.ge_u (local.get $nl) (local.get $end)))
            (if (i32.and (i32.eq (i32.sub (local.get $nl) (local.get $next)) (i32.const 2))
                         (i32.eq (i32.load16_u (local.get $next)) (i32.const 0x2e5c)))
              (then (local.set $stop (i32.const 1)) (br $finish)))
            (if (i32.eq (local.get $nl) (local.get $next))
              (then
                (local.set $sum (i64.add (local.get $sum) (i64.const 0xcbf29ce484222325)))
                (local.set $rows (i64.add (local.get $rows) (i64.const 1)))
                (local.set $next (i32.add (local.get $nl) (i32.const 1)))
                (br $scan1)))
            (local.set $p1 (local.get $next))
            (local.set $e1 (local.get $nl))
            (local.set $h1 (i64.const 0xcbf29ce484222325))
            (local.set $a1 (i32.const 1))
            (local.set $next (i32.add (local.get $nl) (i32.const 1)))))
          ))
        (if (i32.eq (local.get $p2) (local.get $e2))
          (then
            (local.set $sum (i64.add (local.get $sum) (local.get $h2)))
            (local.set $rows (i64.add (local.get $rows) (i64.const 1)))
            (local.set $a2 (i32.const 0))
        (block $got2
          (loop $scan2
            (local.set $nl (call $newline (local.get $next) (local.get $end)))
            (br_if $finish (i32.ge_u (local.get $nl) (local.get $end)))
            (if (i32.and (i32.eq (i32.sub (local.get $nl) (local.get $next)) (i32.const 2))
                         (i32.eq (i32.load16_u (local.get $next)) (i32.const 0x2e5c)))
              (then (local.set $stop (i32.const 1)) (br $finish)))
            (if (i32.eq (local.get $nl) (local.get $next))
              (then
                (local.set $sum (i64.add (local.get $sum) (i64.const 0xcbf29ce484222325)))
                (local.set $rows (i64.add (local.get $rows) (i64.const 1)))
                (local.set $next (i32.add (local.get $nl) (i32.const 1)))
                (br $scan2)))
            (local.set $p2 (local.get $next))
            (local.set $e2 (local.get $nl))
            (local.set $h2 (i64.const 0xcbf29ce484222325))
            (local.set $a2 (i32.const 1))
            (local.set $next (i32.add (local.get $nl) (i32.const 1)))))
          ))
        (if (i32.eq (local.get $p3) (local.get $e3))
          (then
            (local.set $sum (i64.add (local.get $sum) (local.get $h3)))
            (local.set $rows (i64.add (local.get $rows) (i64.const 1)))
            (local.set $a3 (i32.const 0))
        (block $got3
          (loop $scan3
            (local.set $nl (call $newline (local.get $next) (local.get $end)))
            (br_if $finish (i32.ge_u (local.get $nl) (local.get $end)))
            (if (i32.and (i32.eq (i32.sub (local.get $nl) (local.get $next)) (i32.const 2))
                         (i32.eq (i32.load16_u (local.get $next)) (i32.const 0x2e5c)))
              (then (local.set $stop (i32.const 1)) (br $finish)))
            (if (i32.eq (local.get $nl) (local.get $next))
              (then
                (local.set $sum (i64.add (local.get $sum) (i64.const 0xcbf29ce484222325)))
                (local.set $rows (i64.add (local.get $rows) (i64.const 1)))
                (local.set $next (i32.add (local.get $nl) (i32.const 1)))
                (br $scan3)))
            (local.set $p3 (local.get $next))
            (local.set $e3 (local.get $nl))
            (local.set $h3 (i64.const 0xcbf29ce484222325))
            (local.set $a3 (i32.const 1))
            (local.set $next (i32.add (local.get $nl) (i32.const 1)))))
          ))
        (br $round)))
    (if (local.get $a0)
      (then
        (block $b0
          (loop $l0
            (br_if $b0 (i32.ge_u (local.get $p0) (local.get $e0)))
          (local.set $h0 (i64.mul (i64.xor (local.get $h0) (i64.load8_u (local.get $p0))) (i64.const 0x100000001b3)))
          (local.set $p0 (i32.add (local.get $p0) (i32.const 1)))
            (br $l0)))
        (local.set $sum (i64.add (local.get $sum) (local.get $h0)))
        (local.set $rows (i64.add (local.get $rows) (i64.const 1)))))
    (if (local.get $a1)
      (then
        (block $b1
          (loop $l1
            (br_if $b1 (i32.ge_u (local.get $p1) (local.get $e1)))
          (local.set $h1 (i64.mul (i64.xor (local.get $h1) (i64.load8_u (local.get $p1))) (i64.const 0x100000001b3)))
          (local.set $p1 (i32.add (local.get $p1) (i32.const 1)))
            (br $l1)))
        (local.set $sum (i64.add (local.get $sum) (local.get $h1)))
        (local.set $rows (i64.add (local.get $rows) (i64.const 1)))))
    (if (local.get $a2)
      (then
        (block $b2
          (loop $l2
            (br_if $b2 (i32.ge_u (local.get $p2) (local.get $e2)))
          (local.set $h2 (i64.mul (i64.xor (local.get $h2) (i64.load8_u (local.get $p2))) (i64.const 0x100000001b3)))
          (local.set $p2 (i32.add (local.get $p2) (i32.const 1)))
            (br $l2)))
        (local.set $sum (i64.add (local.get $sum) (local.get $h2)))
        (local.set $rows (i64.add (local.get $rows) (i64.const 1)))))
    (if (local.get $a3)
      (then
        (block $b3
          (loop $l3
            (br_if $b3 (i32.ge_u (local.get $p3) (local.get $e3)))
          (local.set $h3 (i64.mul (i64.xor (local.get $h3) (i64.load8_u (local.get $p3))) (i64.const 0x100000001b3)))
          (local.set $p3 (i32.add (local.get $p3) (i32.const 1)))
            (br $l3)))
        (local.set $sum (i64.add (local.get $sum) (local.get $h3)))
        (local.set $rows (i64.add (local.get $rows) (i64.const 1)))))
    (global.set $sum (local.get $sum))
    (global.set $rows (local.get $rows))
    (if (local.get $stop) (then (call $end) (return (local.get $end))))
    (local.get $next))

  (func (export "text") (param $len i32)
    (call $hash (i32.const 0) (local.get $len)))

;; framed: the chunks' payloads are gathered (memory.copy) into the area after the input, and hashed there in one go
  ;; when the input is used up or the block ends: pg_dump writes one chunk per row, so hashing chunk by chunk would
  ;; send every row down the byte-at-a-time path. The rows are the same either way (a row may span chunks).
  (func (export "framed") (param $len i32) (param $intSize i32) (result i32)
    (local $i i32) (local $b i32) (local $take i32) (local $out i32)
    (local.set $out (i32.const 65536))
    (block $out
      (loop $next
        (br_if $out (i32.ge_u (local.get $i) (local.get $len)))
        (br_if $out (i32.ge_u (global.get $phase) (i32.const 2)))
        (if (i32.eqz (global.get $phase))
          (then
            (if (i32.and (i32.and (i32.eqz (global.get $lenPos)) (i32.eq (local.get $intSize) (i32.const 4)))
                         (i32.le_u (i32.add (local.get $i) (i32.const 5)) (local.get $len)))
              (then
                ;; a whole 4-byte length at hand (the usual case): the sign byte, then the value
                (global.set $neg (i32.load8_u (local.get $i)))
                (global.set $lenAcc (i64.load32_u offset=1 (local.get $i)))
                (global.set $lenPos (i32.const 5))
                (local.set $i (i32.add (local.get $i) (i32.const 5))))
              (else
                ;; one byte of a chunk's length: the sign first, then intSize bytes, least significant first
                (local.set $b (i32.load8_u (local.get $i)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (if (i32.eqz (global.get $lenPos))
                  (then (global.set $neg (local.get $b)))
                  (else
                    (global.set $lenAcc
                      (i64.or (global.get $lenAcc)
                        (i64.shl (i64.extend_i32_u (local.get $b))
                          (i64.extend_i32_u (i32.mul (i32.sub (global.get $lenPos) (i32.const 1)) (i32.const 8))))))))
                (global.set $lenPos (i32.add (global.get $lenPos) (i32.const 1)))))
            (if (i32.gt_u (global.get $lenPos) (local.get $intSize))
              (then
                (if (i64.eqz (global.get $lenAcc))
                  (then (global.set $phase (i32.const 2)))
                  (else
                    (if (global.get $neg)
                      (then (global.set $phase (i32.const 3)))
                      (else
                        (global.set $remaining (global.get $lenAcc))
                        (global.set $phase (i32.const 1))))))
                (global.set $lenPos (i32.const 0))
                (global.set $lenAcc (i64.const 0))
                (global.set $neg (i32.const 0)))))
          (else
            ;; chunk payload: as much of it as this input holds
            (local.set $take (i32.sub (local.get $len) (local.get $i)))
            (if (i64.lt_u (global.get $remaining) (i64.extend_i32_u (local.get $take)))
              (then (local.set $take (i32.wrap_i64 (global.get $remaining)))))
            (memory.copy (local.get $out) (local.get $i) (local.get $take))
            (local.set $out (i32.add (local.get $out) (local.get $take)))
            (local.set $i (i32.add (local.get $i) (local.get $take)))
            (global.set $remaining (i64.sub (global.get $remaining) (i64.extend_i32_u (local.get $take))))
            (if (i64.eqz (global.get $remaining)) (then (global.set $phase (i32.const 0))))))
        (br $next)))
    (call $hash (i32.const 65536) (local.get $out))
    (local.get $i))

  (func (export "flush")
    (if (global.get $partial)
      (then
        (global.set $sum (i64.add (global.get $sum) (global.get $h)))
        (global.set $rows (i64.add (global.get $rows) (i64.const 1)))
        (global.set $h (i64.const 0xcbf29ce484222325))
        (global.set $partial (i32.const 0))
        (global.set $rowLen (i32.const 0)))))

  (func (export "reset")
    (global.set $h (i64.const 0xcbf29ce484222325))
    (global.set $partial (i32.const 0))
    (global.set $sum (i64.const 0))
    (global.set $rows (i64.const 0))
    (global.set $bytes (i64.const 0))
    (global.set $phase (i32.const 0))
    (global.set $lenPos (i32.const 0))
    (global.set $lenAcc (i64.const 0))
    (global.set $neg (i32.const 0))
    (global.set $remaining (i64.const 0))
    (global.set $rowLen (i32.const 0))
    (global.set $last2 (i32.const 0))
    (global.set $ended (i32.const 0)))

  (func (export "sum") (result i64) (global.get $sum))
  (func (export "rows") (result i64) (global.get $rows))
  (func (export "payloadBytes") (result i64) (global.get $bytes))
  (func (export "phase") (result i32) (global.get $phase))
)
