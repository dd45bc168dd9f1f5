/* test_list.h — every test of the suite, in one list: TEST(suite, name). */

/* Suites run in this order; each group below lists its tests. */
#define TEST_LIST(TEST)                                                        \
    TESTS_FOUNDATION(TEST)                                                     \
    TESTS_ABI(TEST)                                                            \
    TESTS_SAFETENSORS(TEST)                                                    \
    TESTS_OPS(TEST)                                                            \
    TESTS_ENCODER(TEST)                                                        \
    TESTS_PRECISION(TEST)                                                      \
    TESTS_TOKENIZER(TEST)                                                      \
    TESTS_MODELS(TEST)                                                         \
    TESTS_ARCH(TEST)                                                           \
    TESTS_HEADS(TEST)                                                          \
    TESTS_TOOLS(TEST)                                                          \
    TESTS_POOL(TEST)                                                           \
    TESTS_INTEROP(TEST)                                                        \
    TESTS_RELIABILITY(TEST)                                                    \
    TESTS_PROBE(TEST)                                                          \
    TESTS_IMPLEMENTATIONS(TEST)

#define TESTS_FOUNDATION(TEST)                                                        \
    TEST(status, test_status_every_code_has_name_and_message)                 \
    TEST(status, test_last_error_is_per_thread)                               \
    TEST(device, test_device_list_matches_platform_counts)                    \
    TEST(device, test_device_select_by_type_index_and_name)                   \
    TEST(device, test_device_option_wins_over_environment)                    \
    TEST(device, test_device_bad_spec_lists_devices)                          \
    TEST(device, test_device_platform_without_devices_is_skipped)             \
    TEST(device, test_device_no_platform_is_clear_error)                      \
    TEST(device, test_info_tool_json_lists_device)                            \
    TEST(device, test_info_tool_shows_cache_folder_or_why_not)                \
    TEST(program, test_program_builds_all_kernels)                            \
    TEST(program, test_program_build_error_has_log)                           \
    TEST(program, test_program_override_replaces_embedded)                    \
    TEST(program, test_program_missing_override_dir)                          \
    TEST(cache, test_cache_cold_forbidden_fails_then_warm_succeeds)           \
    TEST(cache, test_cache_corrupt_entry_is_rebuilt)                          \
    TEST(cache, test_cache_truncated_entry_is_rebuilt)                        \
    TEST(cache, test_cache_off_writes_nothing)                                \
    TEST(cache, test_cache_concurrent_writers_leave_valid_cache)              \
    TEST(cache, test_cache_query_says_where_or_why_not)                       \
    TEST(cache, test_cache_shared_folder_is_skipped)                          \
    TEST(cache, test_cache_entry_of_another_user_is_refused)                  \
    TEST(cache, test_cache_group_writable_entry_is_refused)                   \
    TEST(cache, test_cache_symlink_entry_is_not_followed)                     \
    TEST(cache, test_cache_fifo_entry_does_not_hang)                          \
    TEST(cache, test_cache_oversized_entry_is_refused_unread)                 \
    TEST(cache, test_cache_peak_file_of_others_is_ignored)                    \
    TEST(cache, test_cache_tuning_file_of_others_is_ignored)                  \
    TEST(container, test_container_round_trip_without_compiler)               \
    TEST(container, test_container_other_device_is_mismatch)                  \
    TEST(container, test_container_other_driver_is_mismatch)                  \
    TEST(container, test_container_other_library_is_mismatch)                 \
    TEST(container, test_container_other_constants_is_mismatch)               \
    TEST(container, test_container_corrupt_or_truncated_is_rejected)          \
    TEST(buffer, test_buffer_over_max_alloc_is_out_of_memory)                 \
    TEST(buffer, test_buffer_over_global_memory_is_out_of_memory)             \
    TEST(buffer, test_buffer_upload_download_round_trip)

/* Public structs by the caller's size (tests/test_abi.c). */
#define TESTS_ABI(TEST)                                                        \
    TEST(abi, test_abi_old_caller_gets_defaults_and_no_overrun)               \
    TEST(abi, test_abi_new_caller_zero_tail_accepted_set_tail_refused)        \
    TEST(abi, test_abi_options_by_size)                                       \
    TEST(abi, test_abi_device_info_by_size)                                   \
    TEST(abi, test_abi_list_strides)                                          \
    TEST(abi, test_abi_model_create_by_size)

#define TESTS_SAFETENSORS(TEST)                                               \
    TEST(safetensors, test_safetensors_valid_file_reads_back)                 \
    TEST(safetensors, test_safetensors_scalar_and_empty_tensors_accepted)     \
    TEST(safetensors, test_safetensors_parse_reads_caller_buffer)             \
    TEST(safetensors, test_safetensors_truncated_data_rejected)               \
    TEST(safetensors, test_safetensors_shorter_than_length_field_rejected)    \
    TEST(safetensors, test_safetensors_header_past_end_rejected)              \
    TEST(safetensors, test_safetensors_absurd_header_length_rejected)         \
    TEST(safetensors, test_safetensors_header_not_json_rejected)              \
    TEST(safetensors, test_safetensors_header_not_object_rejected)            \
    TEST(safetensors, test_safetensors_duplicate_names_rejected)              \
    TEST(safetensors, test_safetensors_overlapping_offsets_rejected)          \
    TEST(safetensors, test_safetensors_out_of_bounds_offsets_rejected)        \
    TEST(safetensors, test_safetensors_begin_after_end_rejected)              \
    TEST(safetensors, test_safetensors_unknown_dtype_rejected)                \
    TEST(safetensors, test_safetensors_size_mismatch_rejected)                \
    TEST(safetensors, test_safetensors_trailing_bytes_rejected)               \
    TEST(safetensors, test_safetensors_gap_between_tensors_rejected)          \
    TEST(safetensors, test_safetensors_bad_shape_rejected)                    \
    TEST(safetensors, test_safetensors_missing_or_unknown_fields_rejected)    \
    TEST(safetensors, test_safetensors_to_f32_rejects_integer_dtypes)         \
    TEST(safetensors, test_safetensors_missing_file_is_io_error)              \
    TEST(safetensors, test_safetensors_file_shrinking_after_open_is_not_a_signal) \
    TEST(safetensors, test_safetensors_file_shrinking_under_reader_is_io_error)

#define TESTS_OPS(TEST)                                                        \
    TEST(ops, test_gemm_own_cpu_matches_reference)                            \
    TEST(ops, test_gemm_own_gpu_matches_reference)                            \
    TEST(ops, test_gemm_fp16_weights_match_reference)                         \
    TEST(ops, test_gemm_every_tile_shape_matches_reference)                   \
    TEST(ops, test_gemm_clblast_matches_reference)                            \
    TEST(ops, test_qgemm_quantize_matches_reference)                          \
    TEST(ops, test_qgemm_accumulators_are_exact)                              \
    TEST(ops, test_qgemm_every_flag_matches_reference)                        \
    TEST(ops, test_qgemm_every_path_and_tile_matches_reference)               \
    TEST(ops, test_qgemm_refuses_missing_scratch)                             \
    TEST(ops, test_epilogue_matches_reference)                                \
    TEST(ops, test_attention_matches_reference)                               \
    TEST(ops, test_attention_mask_ignores_other_sequences)                    \
    TEST(ops, test_attention_tile_edges_match_reference)                      \
    TEST(ops, test_layernorm_matches_reference_in_and_out_of_place)           \
    TEST(ops, test_embed_every_position_kind)                                 \
    TEST(ops, test_pool_cls_mean_and_l2norm)

#define TESTS_PRECISION(TEST)                                                  \
    TEST(precision, test_half_conversion_matches_the_compiler)                \
    TEST(precision, test_precision_chosen_by_config_option_and_environment)   \
    TEST(precision, test_precision_fp16_refuses_a_weight_beyond_half)         \
    TEST(precision, test_precision_reduced_with_clblast_is_unsupported)       \
    TEST(precision, test_precision_weight_bytes_shrink)                       \
    TEST(precision, test_precision_fp16_pass_matches_reference)               \
    TEST(precision, test_precision_fixtures_at_each_precision)                \
    TEST(precision, test_precision_fp16_compute_matches_rounded_reference)    \
    TEST(precision, test_precision_fixtures_with_fp16_compute)

#define TESTS_ENCODER(TEST)                                                    \
    TEST(encoder, test_encoder_bert_matches_pytorch)                          \
    TEST(encoder, test_encoder_vanilla_post_ln_matches_pytorch)               \
    TEST(encoder, test_encoder_vanilla_pre_ln_tanh_matches_pytorch)           \
    TEST(encoder, test_encoder_every_activation_norm_and_position_matches_reference) \
    TEST(encoder, test_encoder_sequence_alone_equals_sequence_in_batch)       \
    TEST(encoder, test_encoder_padding_is_never_read)                         \
    TEST(encoder, test_encoder_rejects_bad_config)                            \
    TEST(encoder, test_encoder_rejects_bad_batches)                           \
    TEST(encoder, test_tuning_measures_once_and_keeps_the_choice)             \
    TEST(encoder, test_workspace_has_no_seq_by_seq_buffer)                    \
    TEST(encoder, test_plan_never_overlaps_live_buffers)

#define TESTS_TOKENIZER(TEST)                                                  \
    TEST(tokenizer, test_tokenizer_matches_hf_minilm)                         \
    TEST(tokenizer, test_tokenizer_tiny_vocab_matches_hf_under_each_option)   \
    TEST(tokenizer, test_tokenizer_special_ids_looked_up_by_string)           \
    TEST(tokenizer, test_tokenizer_missing_special_token_is_model_format)     \
    TEST(tokenizer, test_tokenizer_invalid_utf8_names_offset)                 \
    TEST(tokenizer, test_tokenizer_max_len_too_small_is_invalid_arg)          \
    TEST(tokenizer, test_tokenizer_missing_vocab_file_is_io_naming_path)      \
    TEST(tokenizer, test_tokenizer_vocab_lines_crlf_and_duplicates)           \
    TEST(tokenizer, test_tokenizer_vocab_rejects_nul_and_bad_utf8)            \
    TEST(tokenizer, test_tokenizer_vocab_collisions_stay_bounded)             \
    TEST(tokenizer, test_tokenizer_siphash_matches_reference_vectors)         \
    TEST(tokenizer, test_tokenizer_pair_reads_what_it_keeps)                  \
    TEST(tokenizer, test_tokenizer_nul_inside_text_is_dropped)                \
    TEST(tj_basic, test_tj_basic_normalizers_match_hf)                        \
    TEST(tj_basic, test_tj_basic_pre_tokenizers_match_hf)                     \
    TEST(tj_basic, test_tj_basic_wordpiece_matches_hf)                        \
    TEST(tj_basic, test_tj_basic_fixture_tokenizers_match_hf)                 \
    TEST(tj_basic, test_tj_basic_minilm_components_match_vocab_txt)           \
    TEST(tj_basic, test_tj_basic_bad_json_is_named)                           \
    TEST(tj_basic, test_tj_basic_huge_strings_are_refused)                    \
    TEST(tj_basic, test_tj_basic_wordpiece_long_word_is_linear)               \
    TEST(tj_basic, test_tj_basic_faults_leave_nothing)                        \
    TEST(tj_unigram, test_tj_unigram_precompiled_matches_hf)                  \
    TEST(tj_unigram, test_tj_unigram_precompiled_is_not_nfkc)                 \
    TEST(tj_unigram, test_tj_unigram_metaspace_matches_hf)                    \
    TEST(tj_unigram, test_tj_unigram_model_matches_hf)                        \
    TEST(tj_unigram, test_tj_unigram_model_edge_cases_match_hf)               \
    TEST(tj_unigram, test_tj_unigram_model_looks_up_pieces)                   \
    TEST(tj_unigram, test_tj_unigram_bad_charsmap_is_model_format)            \
    TEST(tj_unigram, test_tj_unigram_corrupt_charsmap_never_crashes)          \
    TEST(tj_unigram, test_tj_unigram_bad_model_is_model_format)               \
    TEST(tj_unigram, test_tj_unigram_bad_metaspace_refused)                   \
    TEST(tj_unigram, test_tj_unigram_allocation_failures_are_clean)           \
    TEST(tj_bpe, test_tj_bpe_pre_tokenizers_match_hf)                         \
    TEST(tj_bpe, test_tj_bpe_models_match_hf)                                 \
    TEST(tj_bpe, test_tj_bpe_fixture_tokenizers_match_hf)                     \
    TEST(tj_bpe, test_tj_bpe_bad_models_are_named)                            \
    TEST(tj_bpe, test_tj_bpe_missing_unk_fails_when_needed)                   \
    TEST(tj_bpe, test_tj_bpe_evil_pattern_fails_quickly)                      \
    TEST(tj_bpe, test_tj_bpe_deep_pattern_compiles_on_a_small_stack)          \
    TEST(tj_bpe, test_tj_bpe_long_word_is_cut_in_chunks)                      \
    TEST(tj_bpe, test_tj_bpe_byte_fallback_symbols_stay_bounded)              \
    TEST(tj_bpe, test_tj_bpe_byte_level_long_text_is_linear)                  \
    TEST(tj_bpe, test_tj_bpe_threads_share_components)                        \
    TEST(tj_bpe, test_tj_bpe_faults_leave_nothing)                            \
    TEST(tokenizer_json, test_tokenizer_json_wordpiece)                       \
    TEST(tokenizer_json, test_tokenizer_json_bpe_bytelevel)                   \
    TEST(tokenizer_json, test_tokenizer_json_unigram_spm)                     \
    TEST(tokenizer_json, test_tokenizer_json_unigram_hf)                      \
    TEST(tokenizer_json, test_tokenizer_json_assorted)                        \
    TEST(tokenizer_json, test_tokenizer_json_minilm_equals_vocab_txt)         \
    TEST(tokenizer_json, test_tokenizer_json_size_covers_the_model_alone)

#define TESTS_MODELS(TEST)                                                     \
    TEST(models, test_load_hf_bert_folder_matches_fixture)                    \
    TEST(models, test_load_accepts_prefix_and_gamma_beta_names)               \
    TEST(models, test_load_missing_or_misshapen_tensor_named)                 \
    TEST(models, test_load_bad_config_json)                                   \
    TEST(models, test_load_tokenizer_json_wins_over_vocab)                    \
    TEST(models, test_load_not_a_model)                                       \
    TEST(models, test_load_sentence_transformers_files_set_defaults)          \
    TEST(models, test_load_torch_encoder_matches_pytorch)                     \
    TEST(models, test_load_torch_encoder_f16_checkpoint)                      \
    TEST(models, test_load_tensors_config_does_not_describe_named)            \
    TEST(models, test_load_torch_encoder_extra_layer_named)                   \
    TEST(models, test_load_pooling_path_outside_folder_refused)               \
    TEST(models, test_minilm_token_ids_match_reference)                       \
    TEST(models, test_minilm_embeddings_match_sentence_transformers)          \
    TEST(models, test_minilm_pairs_cls_and_token_states_match)                \
    TEST(models, test_minilm_reduced_precision_stays_close)                   \
    TEST(models, test_minilm_f16_checkpoint_keeps_its_halves)

/* RoBERTa, XLM-RoBERTa, CamemBERT, DistilBERT (tests/test_arch.c). */
#define TESTS_ARCH(TEST)                                                       \
    TEST(arch, test_arch_token_ids_match_transformers)                        \
    TEST(arch, test_arch_hidden_states_match_transformers)                    \
    TEST(arch, test_arch_pad_token_in_text_takes_hf_position)                 \
    TEST(arch, test_arch_unsupported_settings_named)

/* Rerankers, classifiers, BERT's pooler (tests/test_heads.c). */
#define TESTS_HEADS(TEST)                                                      \
    TEST(heads, test_heads_info_matches_config)                               \
    TEST(heads, test_heads_pair_and_text_ids_match_transformers)              \
    TEST(heads, test_heads_scores_and_logits_match_transformers)              \
    TEST(heads, test_heads_pooler_output_matches_transformers)                \
    TEST(heads, test_heads_activation_follows_the_files)                      \
    TEST(heads, test_heads_sentence_transformers_6_files_name_the_activation) \
    TEST(heads, test_heads_refusals_are_named)

#define TESTS_TOOLS(TEST)                                                      \
    TEST(tools, test_run_json_holds_tokens_and_embeddings)                    \
    TEST(tools, test_run_json_pooling_none_lists_every_token)                 \
    TEST(tools, test_run_text_similarity_and_input_file)                      \
    TEST(tools, test_run_ids_for_tokenizer_less_model)                        \
    TEST(tools, test_run_reports_bad_usage_and_input)                         \
    TEST(tools, test_run_input_names_bad_line_and_keeps_the_rest)             \
    TEST(tools, test_run_max_seq_bounds_what_is_planned)                      \
    TEST(tools, test_run_output_npy_rows_match_the_library)                   \
    TEST(tools, test_run_output_failure_leaves_no_file)                       \
    TEST(tools, test_run_rerank_json_ranks_as_clenc_score_pairs)              \
    TEST(tools, test_run_rerank_text_raw_scores_and_label_count)              \
    TEST(tools, test_run_classify_json_text_and_input)                        \
    TEST(tools, test_run_help_documents_rerank_and_classify)                  \
    TEST(tools, test_run_pooling_pooler_matches_the_library)                  \
    TEST(tools, test_prof_trace_has_one_event_per_counted_launch)             \
    TEST(tools, test_bench_json_holds_every_cell)                             \
    TEST(tools, test_compile_container_runs_without_compiler)                 \
    TEST(tools, test_every_tool_has_help_and_version)

/* Several devices (tests/test_pool.c). */
#define TESTS_POOL(TEST)                                                       \
    TEST(pool, test_pool_two_devices_equal_one_bit_for_bit_in_order)          \
    TEST(pool, test_pool_failing_device_fails_the_call_naming_it)             \
    TEST(pool, test_pool_zero_texts_write_nothing)                            \
    TEST(pool, test_pool_bad_device_list_is_refused_naming_the_entry)         \
    TEST(pool, test_pool_run_device_all_prints_what_one_device_does)          \
    TEST(pool, test_pool_encode_equals_one_device_bit_for_bit_in_order)       \
    TEST(pool, test_pool_encode_bad_input_fails_naming_device_and_chunk)      \
    TEST(pool, test_pool_scores_equal_one_device_bit_for_bit_in_order)        \
    TEST(pool, test_pool_pocl_and_rusticl_give_each_text_its_device_result)   \
    TEST(pool, test_pool_run_ids_and_scores_on_a_device_list)                 \
    TEST(pool, test_pool_bench_reports_each_device_and_the_ratio)

/* OpenCL interop (tests/test_interop.c). */
#define TESTS_INTEROP(TEST)                                                    \
    TEST(interop, test_interop_encode_cl_equals_encode_bit_for_bit)           \
    TEST(interop, test_interop_positions_and_half_activations_match)          \
    TEST(interop, test_interop_returns_before_the_user_event_is_set)          \
    TEST(interop, test_interop_pipeline_of_user_kernels_with_one_finish)      \
    TEST(interop, test_interop_bad_buffers_and_arguments_are_named)           \
    TEST(interop, test_interop_ids_out_of_range_are_reported_by_the_check)    \
    TEST(interop, test_interop_wrong_queue_and_context_are_refused)           \
    TEST(interop, test_interop_example_prints_the_similarities)

#define TESTS_RELIABILITY(TEST)                                                \
    TEST(reliability, test_fault_injection_walks_every_point)                 \
    TEST(reliability, test_device_failure_mid_pass_is_reported_and_recoverable) \
    TEST(reliability, test_threads_share_context_and_model)                   \
    TEST(reliability, test_threads_load_models_on_one_context)                \
    TEST(reliability, test_bad_input_table)

#define TESTS_PROBE(TEST)                                                      \
    TEST(probe, test_peak_probes_check_their_results)                         \
    TEST(probe, test_peak_wrong_probe_results_are_rejected)                   \
    TEST(probe, test_peak_entry_records_when_it_was_measured)                 \
    TEST(probe, test_peak_old_format_entry_is_measured_again)                 \
    TEST(probe, test_peak_remeasure_replaces_the_cached_entry)                \
    TEST(probe, test_peak_share_over_100_percent_is_refused)                  \
    TEST(probe, test_prof_measures_the_peak_again_when_the_gemm_ran_above_it) \
    TEST(probe, test_gemm_bench_read_gives_the_product)

#define TESTS_IMPLEMENTATIONS(TEST)                                            \
    TEST(impl, test_impl_gemm_small_shapes_match_reference)                   \
    TEST(impl, test_impl_attention_small_shapes_match_reference)              \
    TEST(impl, test_impl_row_kernels_small_shapes_match_reference)            \
    TEST(impl, test_every_kernel_of_the_table_ran)
