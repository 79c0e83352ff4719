//! The backend conformance suite.
//!
//! Every backend runs the same cases against its own store, one test per case:
//!
//! ```text
//! async fn fresh_store() -> std::sync::Arc<dyn medtrack_core::store::Store> {
//!     std::sync::Arc::new(my_backend::MyStore::new())
//! }
//! medtrack_core::conformance_tests!(fresh_store);
//! ```
//!
//! The factory must return an empty store each time it is called. The calling crate needs
//! `tokio` (features `macros` and `rt-multi-thread`) as a dev-dependency, because each case
//! runs on a multi-threaded runtime so that its races are real. Every case in
//! [`cases`] is listed in [`conformance_tests!`](crate::conformance_tests), so no backend can
//! forget one; a failure names the case.

pub mod cases;
mod harness;

pub use harness::Harness;

/// Creates one `#[tokio::test]` per conformance case, each on a fresh store from `$factory`
/// (an `async fn() -> Arc<dyn Store>`).
#[macro_export]
macro_rules! conformance_tests {
    ($factory:path) => {
        $crate::__conformance_cases!(
            $factory;
            registration_then_login_gives_the_principal,
            emails_are_unique_whatever_their_case,
            concurrent_registrations_of_one_email_create_one_account,
            unknown_email_and_wrong_password_are_indistinguishable,
            sessions_slide_and_then_expire,
            logout_revokes_the_session,
            purge_removes_only_expired_sessions,
            concurrent_purges_count_each_expired_session_once,
            pending_doctors_are_unbookable_until_approved,
            deactivated_accounts_cannot_sign_in_and_lose_their_sessions,
            unknown_ids_are_not_found,
            stale_account_updates_are_refused,
            account_pages_are_ordered_and_complete,
            a_booked_slot_leaves_the_free_list,
            booking_a_taken_slot_is_refused,
            bookings_naming_unknown_accounts_are_not_found,
            concurrent_bookings_of_one_slot_let_exactly_one_win,
            a_patient_cannot_overlap_appointments_with_two_doctors,
            concurrent_bookings_of_one_patient_across_doctors_let_one_win,
            cancelling_frees_the_time_at_once,
            rescheduling_moves_the_claim,
            rescheduling_onto_taken_time_keeps_the_old_time,
            rescheduling_racing_a_booking_holds_no_time_twice,
            buffers_keep_appointments_apart,
            booking_rules_refuse_with_typed_reasons,
            patients_respect_the_cancellation_notice_and_doctors_may_always_cancel,
            schedule_changes_keep_bookings_and_list_those_outside,
            finished_appointments_never_block_and_are_not_upcoming,
            appointment_pages_are_ordered_and_stable,
            foreign_cursors_are_refused,
            instants_round_trip_with_microsecond_precision,
            a_diagnosis_completes_only_the_own_doctors_past_appointment,
            amended_diagnoses_keep_their_history,
            patients_add_reports_to_their_own_record_only,
            doctors_read_records_only_with_a_care_relationship,
            doctors_see_the_names_of_their_own_patients_only,
            a_cancellation_before_the_start_gives_no_care_relationship,
            admins_manage_accounts_but_read_no_clinical_record,
            record_reads_are_audited_whether_allowed_or_denied,
            audit_pages_are_newest_first_and_stable,
            appointment_access_follows_the_policy,
            schedules_are_edited_only_by_their_doctor,
            the_remaining_policy_rows_hold_for_every_role,
            every_change_writes_exactly_one_event_and_refusals_none,
            a_failing_notifier_delays_delivery_and_loses_nothing,
            concurrent_dispatchers_never_deliver_one_event_twice,
            an_expired_lease_is_taken_over,
            a_round_hands_back_what_its_lease_cannot_cover,
        );
    };
}

/// Expands the case list of [`conformance_tests!`](crate::conformance_tests).
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($factory:path; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let store = $factory().await;
                $crate::testkit::cases::$case(store).await;
            }
        )*
    };
}
