-- Users whose age (dob.age) disagrees by more than a year with date_of_birth, counted at landing time
-- (created_at). Only the rows of the latest build (macro recent_users_only). A warning: the row is kept,
-- the disagreement flagged.

{{ config(severity='warn') }}

with

recent_users as (

    select user_id, age, date_of_birth, created_at
    from {{ ref('incoming_users') }}
    where {{ recent_users_only(ref('incoming_users')) }}

),

final as (

    select
        user_id,
        age,
        date_of_birth,
        extract(year from age(created_at, date_of_birth)) as years_since_birth

    from recent_users
    where abs(age - extract(year from age(created_at, date_of_birth))) > 1

)

select * from final
