@testable import AWS
import Foundation
import SigV4
import Testing

@Suite struct ClockSkewTests {
    static let local = Date(timeIntervalSince1970: 1_800_000_000)

    static func httpDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }

    static func amzDate(_ request: HTTPRequest) -> String? { request.headers["X-Amz-Date"] }

    @Test func theOffsetComesFromTheAnswersDateWhenTheCodeIsASkewCode() {
        let aws = Self.local.addingTimeInterval(1203)
        #expect(ClockSkew.correction(code: "SignatureDoesNotMatch", awsTime: aws, signedWith: Self.local, localNow: Self.local) == 1203)
        #expect(ClockSkew.correction(code: "RequestExpired", awsTime: Self.local.addingTimeInterval(-900), signedWith: Self.local, localNow: Self.local) == -900)
        // Not a skew code, or a clock within the threshold: a wrong key, an expired token, reported as it came.
        #expect(ClockSkew.correction(code: "AccessDenied", awsTime: aws, signedWith: Self.local, localNow: Self.local) == nil)
        #expect(ClockSkew.correction(code: "SignatureDoesNotMatch", awsTime: Self.local.addingTimeInterval(200), signedWith: Self.local, localNow: Self.local) == nil)
        #expect(ClockSkew.correction(code: "SignatureDoesNotMatch", awsTime: nil, signedWith: Self.local, localNow: Self.local) == nil)
        // The threshold is against the time the request was signed with, the offset against this machine's clock.
        #expect(ClockSkew.correction(code: "InvalidSignatureException", awsTime: aws, signedWith: aws.addingTimeInterval(-10), localNow: Self.local) == nil)
    }

    @Test func awsTimeIsTheDateHeaderElseTheTimeInTheSignatureExpiredMessage() {
        let header = ClockSkew.awsTime(dateHeader: Self.httpDate(Self.local), message: "")
        #expect(header == Self.local)
        let fromMessage = ClockSkew.awsTime(dateHeader: nil, message: "Signature expired: 20270115T074000Z is now earlier than 20270115T075500Z (20270115T080000Z - 5 min.)")
        #expect(fromMessage.map(ClockSkew.stamp) == "2027-01-15T08:00:00Z")
        #expect(ClockSkew.awsTime(dateHeader: nil, message: "Request has expired.") == nil)
    }

    @Test func describesWhichWayTheClockIsOff() {
        #expect(ClockSkew.describe(offset: 1203) == "20m03s behind")
        #expect(ClockSkew.describe(offset: -1500) == "25m00s ahead of")
        #expect(ClockSkew.describe(offset: 3720) == "1h02m behind")
    }

    @Test(arguments: [("SignatureDoesNotMatch", 403), ("RequestExpired", 400), ("AuthFailure", 401), ("RequestTimeTooSkewed", 403)])
    func aSkewedAnswerIsSignedAgainWithAWSsTimeOnceAndTheOffsetIsKept(_ code: String, _ status: Int) async throws {
        let time = TestTime()
        let transport = TimedTransport(time: time)
        let aws = time.now.addingTimeInterval(1200)
        transport.enqueue(.success(queryError(code, status: status, message: "Signature expired", headers: ["Date": Self.httpDate(aws)])))
        let notices = Notices()
        let clock = ClockOffset()
        let client = timedClient(transport, notices: notices, clock: clock)
        _ = try await client.call(.autoScaling, action: "DescribeAutoScalingGroups")
        _ = try await client.call(.elasticLoadBalancing, action: "DescribeListeners")
        #expect(transport.requests.count == 3)
        #expect(Self.amzDate(transport.requests[0]) == "20270115T080000Z")
        #expect(Self.amzDate(transport.requests[1]) == "20270115T082000Z")
        #expect(Self.amzDate(transport.requests[2]) == "20270115T082000Z", "later calls sign with the offset at once")
        #expect(clock.seconds == 1200)
        #expect(time.sleeps.isEmpty, "a skew retry does not wait")
        #expect(notices.lines == ["this machine's clock is 20m00s behind AWS's (autoscaling DescribeAutoScalingGroups answered \(code) "
            + "with Date 2027-01-15T08:20:00Z; here it is 2027-01-15T08:00:00Z): signing with AWS's time from now on"])
    }

    @Test func aRequestInTheFutureIsSignedAgainWithAWSsEarlierTime() async throws {
        // This machine's clock runs 20 minutes ahead: AWS answers RequestInTheFuture with its own, earlier, Date.
        let time = TestTime()
        let transport = TimedTransport(time: time)
        let aws = time.now.addingTimeInterval(-1200)
        transport.enqueue(.success(queryError("RequestInTheFuture", status: 403, message: "Request is not yet valid", headers: ["Date": Self.httpDate(aws)])))
        let clock = ClockOffset()
        let notices = Notices()
        _ = try await timedClient(transport, notices: notices, clock: clock).call(.autoScaling, action: "DescribeAutoScalingGroups")
        #expect(transport.requests.count == 2)
        #expect(Self.amzDate(transport.requests[1]) == "20270115T074000Z")
        #expect(clock.seconds == -1200)
        #expect(notices.lines.first?.hasPrefix("this machine's clock is 20m00s ahead of AWS's (autoscaling DescribeAutoScalingGroups answered RequestInTheFuture") == true,
                Comment(rawValue: notices.lines.joined()))
    }

    @Test(arguments: ["RequestExpired", "AuthFailure"])
    func anEC2ShapedAnswerIsCorrectedToo(_ code: String) async throws {
        let time = TestTime()
        let transport = TimedTransport(time: time)
        let body = Data("<Response><Errors><Error><Code>\(code)</Code><Message>Request has expired.</Message></Error></Errors><RequestID>r</RequestID></Response>".utf8)
        transport.enqueue(.success(HTTPResponse(status: code == "AuthFailure" ? 401 : 400, headers: ["Date": Self.httpDate(time.now.addingTimeInterval(-960))], body: body)))
        _ = try await timedClient(transport).call(.ec2, action: "DescribeImages")
        #expect(transport.requests.count == 2)
        #expect(Self.amzDate(transport.requests[1]) == "20270115T074400Z")
    }

    @Test func aJSONAnswerIsCorrectedToo() async throws {
        let time = TestTime()
        let transport = TimedTransport(time: time)
        let body = Data(#"{"__type":"com.amazon.coral.service#InvalidSignatureException","message":"Signature expired: 20270115T080000Z is now earlier than 20270115T081500Z (20270115T082000Z - 5 min.)"}"#.utf8)
        transport.enqueue(.success(HTTPResponse(status: 400, body: body)))
        let client = timedClient(transport)
        _ = try await client.callJSON(.dynamoDB, operation: "ListTables", body: Data("{}".utf8))
        #expect(transport.requests.count == 2)
        #expect(Self.amzDate(transport.requests[1]) == "20270115T082000Z")
    }

    @Test func aRestXMLAnswerIsCorrectedToo() async throws {
        let time = TestTime()
        let transport = TimedTransport(time: time)
        transport.enqueue(.success(queryError("SignatureDoesNotMatch", status: 403, headers: ["Date": Self.httpDate(time.now.addingTimeInterval(-1800))])))
        transport.enqueue(.success(HTTPResponse(status: 200, body: Data("<ListHostedZonesResponse/>".utf8))))
        _ = try await timedClient(transport).rest(.route53, action: "ListHostedZones", method: "GET", path: "/2013-04-01/hostedzone")
        #expect(Self.amzDate(transport.requests[1]) == "20270115T073000Z")
    }

    @Test func stillRefusedAfterTheCorrectionSaysItIsTheClockWithBothTimes() async throws {
        let time = TestTime()
        let transport = TimedTransport(time: time)
        // AWS's clock moves on by a further 10 minutes between the two answers: the clock is jumping.
        transport.enqueue(.success(queryError("SignatureDoesNotMatch", status: 403, message: "Signature expired", headers: ["Date": Self.httpDate(time.now.addingTimeInterval(1200))])))
        transport.enqueue(.success(queryError("SignatureDoesNotMatch", status: 403, message: "Signature expired", headers: ["Date": Self.httpDate(time.now.addingTimeInterval(1800))])))
        let error = await #expect(throws: ClockSkewError.self) {
            _ = try await timedClient(transport).call(.autoScaling, action: "DescribeAutoScalingGroups")
        }
        #expect(transport.requests.count == 2)
        let text = error?.description ?? ""
        #expect(text.contains("this machine's clock says 2027-01-15T08:00:00Z, AWS's says 2027-01-15T08:30:00Z"), Comment(rawValue: text))
        #expect(text.contains("The clock is wrong or jumping, not the keys"))
    }

    @Test func aWrongKeyWithARightClockIsReportedAsAWrongKey() async throws {
        let time = TestTime()
        let transport = TimedTransport(time: time)
        transport.enqueue(.success(queryError("SignatureDoesNotMatch", status: 403, message: "The request signature we calculated does not match",
                                              headers: ["Date": Self.httpDate(time.now.addingTimeInterval(2))])))
        let error = await #expect(throws: AWSError.self) {
            _ = try await timedClient(transport).call(.autoScaling, action: "DescribeAutoScalingGroups")
        }
        #expect(error?.code.rawValue == "SignatureDoesNotMatch")
        #expect(transport.requests.count == 1)
    }

    @Test func expiredTemporaryKeysAreStillRenewedWhenTheClockIsRight() {
        let failure = AWSClient.AttemptFailure(error: AWSError(code: AWSErrorCode("RequestExpired"), message: "", status: 400, requestId: nil,
                                                              service: .ec2, action: "DescribeImages"), temporaryKeys: true)
        #expect(failure.isExpiredCredentials && failure.skew == nil)
    }
}
