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
;; The caller copies input to memory offset 0 (at most 65536 bytes per call) and calls:
;;   text(len)             hashes raw COPY text (the restore side reads COPY ... TO STDOUT)
;;   framed(len, intSize)  reads a custom-format data block's chunks (each: a sign byte, intSize bytes of length,
;;                         little-endian, then that many bytes of COPY text; a zero length ends the block) and
;;                         hashes their bytes; returns how many input bytes it used, stopping after the end mark
;;   flush()               counts a last row that has no newline (a stream cut short)
;;   reset()               starts a new table
;; and reads sum(), rows(), payloadBytes(), phase() (0 or 1: inside the block, 2: its end mark read, 3: a negative
;; chunk length, i.e. not a data block).

(module
  (memory (export "memory") 2)
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

  (func $hash (param $start i32) (param $end i32)
    (local $i i32) (local $b i64) (local $h i64) (local $sum i64) (local $rows i64) (local $partial i32)
    (local $rowLen i32) (local $last2 i32)
    (global.set $bytes (i64.add (global.get $bytes) (i64.extend_i32_u (i32.sub (local.get $end) (local.get $start)))))
    (if (global.get $ended) (then (return)))
    (local.set $i (local.get $start))
    (local.set $h (global.get $h))
    (local.set $sum (global.get $sum))
    (local.set $rows (global.get $rows))
    (local.set $partial (global.get $partial))
    (local.set $rowLen (global.get $rowLen))
    (local.set $last2 (global.get $last2))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $b (i64.load8_u (local.get $i)))
        (if (i64.eq (local.get $b) (i64.const 10))
          (then
            ;; the end-of-data marker: a row of exactly the two bytes \ and .
            (if (i32.and (i32.eq (local.get $rowLen) (i32.const 2)) (i32.eq (local.get $last2) (i32.const 0x5c2e)))
              (then
                (global.set $ended (i32.const 1))
                (local.set $h (i64.const 0xcbf29ce484222325))
                (local.set $partial (i32.const 0))
                (br $done)))
            (local.set $sum (i64.add (local.get $sum) (local.get $h)))
            (local.set $rows (i64.add (local.get $rows) (i64.const 1)))
            (local.set $h (i64.const 0xcbf29ce484222325))
            (local.set $partial (i32.const 0))
            (local.set $rowLen (i32.const 0)))
          (else
            (local.set $h (i64.mul (i64.xor (local.get $h) (local.get $b)) (i64.const 0x100000001b3)))
            (local.set $partial (i32.const 1))
            (local.set $rowLen (i32.add (local.get $rowLen) (i32.const 1)))
            (local.set $last2
              (i32.and (i32.or (i32.shl (local.get $last2) (i32.const 8)) (i32.wrap_i64 (local.get $b))) (i32.const 0xffff)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (global.set $h (local.get $h))
    (global.set $sum (local.get $sum))
    (global.set $rows (local.get $rows))
    (global.set $partial (local.get $partial))
    (global.set $rowLen (local.get $rowLen))
    (global.set $last2 (local.get $last2)))

  (func (export "text") (param $len i32)
    (call $hash (i32.const 0) (local.get $len)))

  (func (export "framed") (param $len i32) (param $intSize i32) (result i32)
    (local $i i32) (local $b i32) (local $take i32)
    (block $out
      (loop $next
        (br_if $out (i32.ge_u (local.get $i) (local.get $len)))
        (br_if $out (i32.ge_u (global.get $phase) (i32.const 2)))
        (if (i32.eqz (global.get $phase))
          (then
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
            (global.set $lenPos (i32.add (global.get $lenPos) (i32.const 1)))
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
            (call $hash (local.get $i) (i32.add (local.get $i) (local.get $take)))
            (local.set $i (i32.add (local.get $i) (local.get $take)))
            (global.set $remaining (i64.sub (global.get $remaining) (i64.extend_i32_u (local.get $take))))
            (if (i64.eqz (global.get $remaining)) (then (global.set $phase (i32.const 0))))))
        (br $next)))
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
