;; cache_other.wat: another module for check_cache, whose cache entry is planted under
;; cache_code's name (an entry for another key).
(module
  (func (export "answer") (result i32) (i32.const 42)))
